"""The NumPy oracle (``fastdnn.reference``, whole networks) is itself right.

Every other test trusts ``reference.network_backward`` and ``reference.train``;
here they are checked against central finite differences of
``reference.network_cost`` and against the optimizer steps applied by hand.
"""
import numpy as np
import pytest

from fastdnn import gradient_check, reference as R

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"]
# each loss with the output activation it is fused with (dZ = A - Y)
FUSED = [("binary_crossentropy", "sigmoid", 1), ("binary_crossentropy", "sigmoid", 2),
         ("categorical_crossentropy", "softmax", 3), ("mse", "linear", 2)]
LAM = 0.3
M = 7


def make_problem(loss, n_out, sizes=(4, 5, 3), m=M, seed=0):
    """X (n0, m), Y (n_out, m) and params [(W1, b1), ...] in float64."""
    rng = np.random.default_rng(seed)
    dims = list(sizes) + [n_out]
    params = [(rng.normal(size=(dims[l + 1], dims[l])) * 0.8,
               rng.normal(size=(dims[l + 1], 1)) * 0.2) for l in range(len(dims) - 1)]
    X = rng.normal(size=(dims[0], m))
    if loss == "binary_crossentropy":
        Y = (rng.random((n_out, m)) > 0.5).astype(np.float64)
    elif loss == "categorical_crossentropy":
        Y = np.eye(n_out)[:, rng.integers(0, n_out, m)]
    else:
        Y = rng.normal(size=(n_out, m))
    return X, Y, params


def numerical_gradients(cost, params, eps=1e-6):
    """Central differences ``(J(θ + ε) - J(θ - ε)) / 2ε`` of every entry of every array."""
    work = [(W.copy(), b.copy()) for W, b in params]
    out = []
    for pair in work:
        grads = []
        for theta in pair:
            g = np.empty_like(theta)
            flat, gflat = theta.reshape(-1), g.reshape(-1)
            for i in range(flat.size):
                old = flat[i]
                flat[i] = old + eps
                plus = cost(work)
                flat[i] = old - eps
                minus = cost(work)
                flat[i] = old
                gflat[i] = (plus - minus) / (2 * eps)
            grads.append(g)
        out.append(tuple(grads))
    return out


def relative_difference(grads, approx):
    g = np.concatenate([a.ravel() for pair in grads for a in pair])
    ga = np.concatenate([a.ravel() for pair in approx for a in pair])
    return np.linalg.norm(g - ga) / (np.linalg.norm(g) + np.linalg.norm(ga))


def backward_vs_finite_differences(hidden, output, loss, n_out, lam=LAM, backward_lam=None,
                                   problem=None):
    X, Y, params = make_problem(loss, n_out) if problem is None else problem
    acts = [hidden, hidden, output]
    As = R.network_forward(X, params, acts)
    grads = R.network_backward(As, Y, params, acts, loss, lam if backward_lam is None
                               else backward_lam)
    assert [(dW.shape, db.shape) for dW, db in grads] == \
        [(W.shape, b.shape) for W, b in params]

    def cost(ps):
        return R.network_cost(R.network_forward(X, ps, acts)[-1], Y, ps, loss, lam)
    return relative_difference(grads, numerical_gradients(cost, params))


# ------------------------------------------------------------------ gradients

@pytest.mark.parametrize("loss, output, n_out", FUSED)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_backward_matches_finite_differences_fused_outputs(hidden, loss, output, n_out):
    assert backward_vs_finite_differences(hidden, output, loss, n_out) < 1e-7


@pytest.mark.parametrize("output", ["tanh", "sigmoid", "relu", "leaky_relu", "softmax"])
@pytest.mark.parametrize("hidden", ["tanh", "relu"])
def test_backward_matches_finite_differences_mse_with_other_outputs(hidden, output):
    """mse after an activation it is not fused with: dA = A - Y goes through g'."""
    assert backward_vs_finite_differences(hidden, output, "mse", 3) < 1e-7


def test_the_check_detects_a_wrong_gradient():
    """Negative control: leaving the L2 term out of the backward pass is caught."""
    assert backward_vs_finite_differences("tanh", "sigmoid", "binary_crossentropy", 1,
                                          backward_lam=0.0) > 1e-3


def test_library_gradient_check_agrees():
    """fastdnn.gradient_check on the same problem (dict parameters) says the same."""
    loss, acts = "categorical_crossentropy", ["leaky_relu", "tanh", "softmax"]
    X, Y, params = make_problem(loss, 3)
    grads = R.network_backward(R.network_forward(X, params, acts), Y, params, acts, loss, LAM)
    names = [f"{k}{l + 1}" for l in range(3) for k in "Wb"]
    P = dict(zip(names, [a for pair in params for a in pair]))
    G = {"d" + n: g for n, g in zip(names, [a for pair in grads for a in pair])}

    def cost(q):
        ps = [(q[f"W{l + 1}"], q[f"b{l + 1}"]) for l in range(3)]
        return R.network_cost(R.network_forward(X, ps, acts)[-1], Y, ps, loss, LAM)
    assert gradient_check(cost, P, G) < 1e-7


@pytest.mark.parametrize("loss, output, n_out", [("binary_crossentropy", "tanh", 1),
                                                 ("binary_crossentropy", "softmax", 3),
                                                 ("categorical_crossentropy", "sigmoid", 3)])
def test_cross_entropy_with_an_unfused_output_is_right_or_refused(loss, output, n_out):
    X, Y, params = make_problem(loss, n_out)
    if output == "tanh":   # keep A inside (0, 1) where the cross-entropy is defined
        params[-1] = (np.abs(params[-1][0]) * 0.1, np.abs(params[-1][1]) + 0.5)
        X = np.abs(X)
    assert np.all(R.network_forward(X, params, ["relu", "relu", output])[-1] > 0)
    try:
        diff = backward_vs_finite_differences("relu", output, loss, n_out,
                                              problem=(X, Y, params))
    except ValueError:
        return   # refusing the pairing is right too
    assert diff < 1e-7


def test_costs():
    A = np.array([[0.9, 0.2, 0.6]])
    Y = np.array([[1.0, 0.0, 1.0]])
    expected = -(np.log(0.9) + np.log(0.8) + np.log(0.6)) / 3
    assert R.binary_crossentropy_cost(A, Y) == pytest.approx(expected, rel=1e-15)
    A2 = np.array([[0.7, 0.1], [0.2, 0.3], [0.1, 0.6]])
    Y2 = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    assert R.categorical_crossentropy_cost(A2, Y2) == \
        pytest.approx(-(np.log(0.7) + np.log(0.6)) / 2, rel=1e-15)
    assert R.mse_cost(A2, Y2) == pytest.approx(np.sum((A2 - Y2) ** 2) / 4, rel=1e-15)
    params = [(np.array([[1.0, 2.0]]), np.zeros((1, 1))), (np.array([[3.0]]), np.ones((1, 1)))]
    assert R.network_cost(A, Y, params, "binary_crossentropy", lam=0.6) == \
        pytest.approx(expected + 0.6 / 6 * (1 + 4 + 9), rel=1e-15)


def test_forward_is_the_layer_by_layer_formula():
    X, _, params = make_problem("mse", 2)
    acts = ["relu", "leaky_relu", "linear"]
    As = R.network_forward(X, params, acts)
    assert len(As) == 4 and As[0] is X
    (W1, b1), (W2, b2), (W3, b3) = params
    A1 = np.maximum(W1 @ X + b1, 0)
    Z2 = W2 @ A1 + b2
    A2 = np.where(Z2 >= 0, Z2, 0.01 * Z2)
    np.testing.assert_array_equal(As[1], A1)
    np.testing.assert_array_equal(As[2], A2)
    np.testing.assert_array_equal(As[3], W3 @ A2 + b3)


# ------------------------------------------------------------------ train()

def _grads(X, Y, params, acts, loss, lam):
    return R.network_backward(R.network_forward(X, params, acts), Y, params, acts, loss, lam)


def test_train_gd_one_full_batch_is_params_minus_lr_grads():
    loss, acts, lr = "binary_crossentropy", ["tanh", "relu", "sigmoid"], 0.37
    X, Y, params = make_problem(loss, 1)
    before = [(W.copy(), b.copy()) for W, b in params]
    new, costs = R.train(X, Y, params, acts, loss, "gd", learning_rate=lr, epochs=1, lam=LAM)
    grads = _grads(X, Y, params, acts, loss, LAM)
    for (W, b), (dW, db), (W1, b1) in zip(params, grads, new):
        np.testing.assert_array_equal(W1, W - lr * dW)
        np.testing.assert_array_equal(b1, b - lr * db)
    assert costs.shape == (1,)
    assert costs[0] == R.network_cost(R.network_forward(X, params, acts)[-1], Y, params,
                                      loss, LAM)
    for (W, b), (W0, b0) in zip(params, before):   # the caller's arrays are not modified
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)


def test_train_mini_batches_permutations_and_lr_schedule_by_hand():
    """Two epochs of batches of 3 (7 examples: 3 + 3 + 1), a permutation per epoch and
    a learning rate per epoch, replayed step by step with gd_step."""
    loss, acts = "mse", ["sigmoid", "tanh", "linear"]
    X, Y, params = make_problem(loss, 2)
    perms = [np.array([6, 2, 0, 5, 1, 4, 3]), np.array([3, 1, 4, 0, 6, 5, 2])]
    lr = lambda epoch: 0.5 / (1 + epoch)   # noqa: E731
    new, costs = R.train(X, Y, params, acts, loss, "gd", learning_rate=lr, epochs=2,
                         batch_size=3, permutations=lambda e: perms[e], lam=LAM)
    p = [(W.copy(), b.copy()) for W, b in params]
    expected_costs = []
    for epoch in range(2):
        for s in range(0, M, 3):
            idx = perms[epoch][s:s + 3]
            Xb, Yb = X[:, idx], Y[:, idx]
            expected_costs.append(R.network_cost(R.network_forward(Xb, p, acts)[-1], Yb, p,
                                                 loss, LAM))
            g = _grads(Xb, Yb, p, acts, loss, LAM)
            p = [(R.gd_step(W, dW, lr(epoch)), R.gd_step(b, db, lr(epoch)))
                 for (W, b), (dW, db) in zip(p, g)]
    assert len(costs) == 6
    np.testing.assert_array_equal(costs, expected_costs)
    for (W, b), (W1, b1) in zip(p, new):
        np.testing.assert_array_equal(W1, W)
        np.testing.assert_array_equal(b1, b)


HYPER = {"momentum": {"beta": 0.7},
         "rmsprop": {"beta": 0.8, "epsilon": 1e-6},
         "adam": {"beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6}}


def _by_hand(optimizer, X, Y, params, acts, loss, lr, steps, hyper, fixed_t=None):
    """``steps`` full-batch steps with reference.<optimizer>_step, state kept by hand."""
    flat = [a.copy() for pair in params for a in pair]
    s1 = [np.zeros_like(a) for a in flat]
    s2 = [np.zeros_like(a) for a in flat]
    for t in range(1, steps + 1):
        ps = [(flat[2 * l], flat[2 * l + 1]) for l in range(len(params))]
        grads = [g for pair in _grads(X, Y, ps, acts, loss, LAM) for g in pair]
        for i, g in enumerate(grads):
            if optimizer == "momentum":
                flat[i], s1[i] = R.momentum_step(flat[i], g, s1[i], lr, **hyper)
            elif optimizer == "rmsprop":
                flat[i], s1[i] = R.rmsprop_step(flat[i], g, s1[i], lr, **hyper)
            else:
                flat[i], s1[i], s2[i] = R.adam_step(flat[i], g, s1[i], s2[i],
                                                    t if fixed_t is None else fixed_t, lr,
                                                    **hyper)
    return flat


@pytest.mark.parametrize("optimizer", ["momentum", "rmsprop", "adam"])
def test_train_optimizers_match_their_steps_by_hand(optimizer):
    loss, acts, lr = "categorical_crossentropy", ["relu", "tanh", "softmax"], 0.05
    X, Y, params = make_problem(loss, 3)
    hyper = HYPER[optimizer]
    new, costs = R.train(X, Y, params, acts, loss, optimizer, learning_rate=lr, epochs=3,
                         lam=LAM, **hyper)
    assert costs.shape == (3,)
    expected = _by_hand(optimizer, X, Y, params, acts, loss, lr, 3, hyper)
    got = [a for pair in new for a in pair]
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    # the comparison is sensitive: default hyperparameters give other numbers,
    # and so would an Adam without its step count
    other = _by_hand(optimizer, X, Y, params, acts, loss, lr, 3,
                     {k: v for k, v in hyper.items() if k == "epsilon"})
    assert not all(np.array_equal(a, b) for a, b in zip(got, other))
    if optimizer == "adam":
        no_t = _by_hand(optimizer, X, Y, params, acts, loss, lr, 3, hyper, fixed_t=1)
        assert not all(np.array_equal(a, b) for a, b in zip(got, no_t))


@pytest.mark.parametrize("optimizer", ["momentum", "rmsprop", "adam"])
def test_steps_are_the_lecture_formulas(optimizer):
    """The single steps themselves, on numbers worked out independently."""
    p, g = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    if optimizer == "momentum":
        p1, v = R.momentum_step(p, g, np.array([1.0, 1.0]), 0.1, beta=0.5)
        np.testing.assert_allclose(v, [0.75, 2.5], rtol=1e-15)
        np.testing.assert_allclose(p1, [0.925, -2.25], rtol=1e-15)
    elif optimizer == "rmsprop":
        p1, s = R.rmsprop_step(p, g, np.array([0.0, 0.0]), 0.1, beta=0.75, epsilon=0.0)
        np.testing.assert_allclose(s, [0.0625, 4.0], rtol=1e-15)
        np.testing.assert_allclose(p1, [0.8, -2.2], rtol=1e-15)
    else:
        # second step (t = 2) from m = v = 0 state after one zero-gradient step
        p1, m, v = R.adam_step(p, g, np.zeros(2), np.zeros(2), 2, 0.1, beta1=0.5, beta2=0.5,
                               epsilon=0.0)
        np.testing.assert_allclose(m, [0.25, 2.0], rtol=1e-15)
        np.testing.assert_allclose(v, [0.125, 8.0], rtol=1e-15)
        # m_hat = m / 0.75, v_hat = v / 0.75: step = 0.1 * m_hat / sqrt(v_hat)
        np.testing.assert_allclose(p1, p - 0.1 * (m / 0.75) / np.sqrt(v / 0.75), rtol=1e-15)
    # L2 decay enters as grad + decay * param
    q = R.gd_step(p, g, 0.1, decay=0.5)
    np.testing.assert_allclose(q, p - 0.1 * (g + 0.5 * p), rtol=1e-15)
