"""SGD, AdamW, Nadam, Adagrad, Adamax and gradient clipping step for step against
``torch.optim`` and ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``: on lists of
parameter arrays, and on a small model trained by both engines."""
import numpy as np
import pytest

from fastdnn.layers import Dense, Input
from fastdnn.models import Sequential
from fastdnn.optimizers import GD, SGD, Adagrad, Adam, Adamax, AdamW, Momentum, Nadam, RMSprop

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]

# name -> (fastdnn optimizer, torch optimizer on a list of tensors); not the defaults,
# so that a hyperparameter lost or swapped on the way shows
PAIRS = {
    "adamw": (lambda: AdamW(0.01, beta1=0.8, beta2=0.95, epsilon=1e-4, weight_decay=0.3),
              lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-4,
                                           weight_decay=0.3, foreach=False)),
    "nadam": (lambda: Nadam(0.01, beta1=0.8, beta2=0.95, epsilon=1e-4, momentum_decay=0.3),
              lambda ps: torch.optim.NAdam(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-4,
                                           momentum_decay=0.3, foreach=False)),
    "nadam_defaults": (lambda: Nadam(),
                       lambda ps: torch.optim.NAdam(ps, foreach=False)),
    "adagrad": (lambda: Adagrad(0.05, initial_accumulator_value=0.2, epsilon=1e-4),
                lambda ps: torch.optim.Adagrad(ps, lr=0.05, initial_accumulator_value=0.2,
                                               eps=1e-4, foreach=False)),
    "adagrad_defaults": (lambda: Adagrad(),
                         lambda ps: torch.optim.Adagrad(ps, foreach=False)),
    "adamax": (lambda: Adamax(0.01, beta1=0.8, beta2=0.95, epsilon=1e-4),
               lambda ps: torch.optim.Adamax(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-4,
                                             foreach=False)),
    "sgd": (lambda: SGD(0.05, momentum=0.8),
            lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, foreach=False)),
    "sgd_nesterov": (lambda: SGD(0.05, momentum=0.7, nesterov=True),
                     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.7, nesterov=True,
                                                foreach=False)),
    "sgd_plain": (lambda: SGD(0.05),
                  lambda ps: torch.optim.SGD(ps, lr=0.05, foreach=False)),
    "adam": (lambda: Adam(0.01, beta1=0.8, beta2=0.95, epsilon=1e-4),
             lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-4,
                                         foreach=False)),
}
# the course's optimizers have no torch twin with the same formula; their clipping is
# checked against fastdnn.reference in test_optimizers.py
CLIPS = {
    "none": {},
    "clipnorm": {"clipnorm": 2.0},
    "global_clipnorm": {"global_clipnorm": 3.0},
    "clipvalue": {"clipvalue": 0.4},
    "clipnorm+clipvalue": {"clipnorm": 2.0, "clipvalue": 0.4},
    "global+clipvalue": {"global_clipnorm": 3.0, "clipvalue": 0.3},
}


@pytest.fixture
def torch_dtype():
    """Sets torch's default dtype for a test (optimizer scalars such as NAdam's
    mu_product are kept in it) and restores it."""
    before = torch.get_default_dtype()

    def use(dtype):
        torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)

    yield use
    torch.set_default_dtype(before)


def make(name, clip):
    ours, theirs = PAIRS[name]
    opt = ours()
    return type(opt).from_config({**opt.get_config(), **clip}), theirs


def torch_clip(tparams, clip):
    """clip_grad_norm_ (per tensor or over all) and clip_grad_value_ as fastdnn clips.

    torch scales by max_norm / (norm + 1e-6); fastdnn (as Keras) by clipnorm / norm, so
    max_norm is given as clipnorm * (norm + 1e-6) / norm for the same factor."""
    def by_norm(ts, c):
        norm = float(torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(t.grad.double()) for t in ts])))
        torch.nn.utils.clip_grad_norm_(ts, c * (norm + 1e-6) / norm, foreach=False)

    if "clipnorm" in clip:
        for t in tparams:
            by_norm([t], clip["clipnorm"])
    if "global_clipnorm" in clip:
        by_norm(tparams, clip["global_clipnorm"])
    if "clipvalue" in clip:
        torch.nn.utils.clip_grad_value_(tparams, clip["clipvalue"], foreach=False)


def assert_close(actual, expected, dtype, rtol32=2e-5, rtol64=1e-11):
    rtol = rtol32 if dtype == np.float32 else rtol64
    scale = float(np.max(np.abs(expected)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


# ------------------------------------------------------------ parameter lists

@pytest.mark.parametrize("clip", list(CLIPS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(PAIRS))
def test_steps_match_torch(name, dtype, clip, torch_dtype):
    """Eight steps on three arrays (L2 decays on two): parameters and state as torch's."""
    torch_dtype(dtype)
    rng = np.random.default_rng([len(name), len(clip)])
    shapes = [(6, 4), (6, 1), (3, 6)]
    decays = [0.05, 0.0, 0.1]
    params = [np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes]
    tparams = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt, make_torch = make(name, CLIPS[clip])
    topt = make_torch(tparams)
    for step in range(8):
        grads = [np.asarray((0.2 + 0.3 * step) * rng.standard_normal(s), dtype=dtype)
                 for s in shapes]
        grads[0][0, 0] = 0.0   # a zero gradient
        opt.apply_gradients(params, grads, decays)
        with torch.no_grad():   # the L2 term is part of the gradient (of the cost)
            for t, g, d in zip(tparams, grads, decays):
                t.grad = torch.from_numpy(g.copy()) + d * t.detach()
        torch_clip(tparams, CLIPS[clip])
        topt.step()
        for p, t in zip(params, tparams):
            assert p.dtype == dtype
            assert_close(p, t.detach().numpy(), dtype)
    # the state too, under torch's names
    slot_of = {"m": "exp_avg", "v": "exp_avg_sq", "u": "exp_inf", "s": "sum",
               "b": "momentum_buffer"}
    state = opt.get_state()
    arrays = sorted(k for k in state if "/" in k)
    assert len(arrays) == len(params) * len(opt._slot_names)
    for key in arrays:
        slot, i = key.split("/")
        assert_close(state[key], topt.state[tparams[int(i)]][slot_of[slot]].numpy(), dtype)


def test_clipping_happens_in_these_tests():
    """The clip settings above are active on some steps and not on others."""
    rng = np.random.default_rng(0)
    norms = [np.linalg.norm((0.2 + 0.3 * step) * rng.standard_normal((6, 4)))
             for step in range(8)]
    assert min(norms) < CLIPS["clipnorm"]["clipnorm"] < max(norms)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nadam_long_run_product(dtype, torch_dtype):
    """Nadam's product of momentum coefficients over many steps, and after a state
    round trip into a new optimizer (which recomputes it from iterations)."""
    torch_dtype(dtype)
    rng = np.random.default_rng(5)
    p = np.asarray(rng.standard_normal((5, 3)), dtype=dtype)
    t = torch.tensor(p.copy(), requires_grad=True)
    opt = Nadam(0.003, momentum_decay=0.05)
    topt = torch.optim.NAdam([t], lr=0.003, momentum_decay=0.05, foreach=False)
    for step in range(60):
        if step == 30:
            fresh = Nadam(0.003, momentum_decay=0.05)
            fresh.set_state(opt.get_state(), [p])
            opt = fresh
        g = np.asarray(rng.standard_normal((5, 3)), dtype=dtype)
        opt.apply_gradients([p], [g])
        t.grad = torch.from_numpy(g.copy())
        topt.step()
    assert_close(p, t.detach().numpy(), dtype, rtol32=1e-4)


# ---------------------------------------------------------------- a model

def torch_train(weights, X, Y, dtype, make_torch, clip, lam, epochs, batch):
    """The model below in torch: tanh hidden layer (L2 lam on its W), sigmoid output,
    binary cross-entropy averaged over each batch, the same batches in order."""
    ts = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
    topt = make_torch(ts)
    Xt, Yt = torch.tensor(X.T.copy()), torch.tensor(Y.T.copy())
    for _ in range(epochs):
        for s in range(0, X.shape[0], batch):
            k = min(batch, X.shape[0] - s)
            W1, b1, W2, b2 = ts
            A1 = torch.tanh(W1 @ Xt[:, s:s + k] + b1)
            Z2 = W2 @ A1 + b2
            cost = torch.nn.functional.binary_cross_entropy_with_logits(Z2, Yt[:, s:s + k])
            cost = cost + lam / (2 * k) * (W1 * W1).sum()
            topt.zero_grad()
            cost.backward()
            torch_clip(ts, clip)
            topt.step()
    return [t.detach().numpy() for t in ts]


def small_model(dtype, opt, lam, n_in):
    model = Sequential([Input(n_in), Dense(7, activation="tanh", kernel_regularizer=lam),
                        Dense(1, activation="sigmoid")], dtype=dtype, seed=4)
    model.compile(opt, "binary_crossentropy")
    return model


@pytest.mark.parametrize("engine", ["python", "compiled"])
@pytest.mark.parametrize("clip", ["none", "clipnorm", "global_clipnorm", "clipnorm+clipvalue"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["adamw", "nadam", "adagrad", "adamax", "sgd", "sgd_nesterov",
                                  "sgd_plain", "adam"])
def test_model_training_matches_torch(name, dtype, clip, engine, torch_dtype):
    torch_dtype(dtype)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 5)).astype(dtype)
    Y = (X[:, :1] + 0.5 * X[:, 1:2] > 0).astype(dtype)
    lam = 0.3
    clips = {k: v / 4 if "norm" in k else v for k, v in CLIPS[clip].items()}
    opt, make_torch = make(name, clips)
    model = small_model(dtype, opt, lam, 5)
    model.build(5)
    start = model.get_weights()
    history = model.fit(X, Y, epochs=3, batch_size=16, shuffle=False, verbose=0, engine=engine)
    assert history.engine == engine
    expected = torch_train(start, X, Y, dtype, make_torch, clips, lam, 3, 16)
    for w, e in zip(model.get_weights(), expected):
        assert_close(w, e, dtype, rtol32=1e-4, rtol64=1e-9)


# ------------------------------------------------- the two engines agree

ENGINE_OPTS = {
    "adamw": lambda **c: AdamW(0.01, weight_decay=0.1, **c),
    "nadam": lambda **c: Nadam(0.01, **c),
    "adagrad": lambda **c: Adagrad(0.05, initial_accumulator_value=0.1, **c),
    "adamax": lambda **c: Adamax(0.01, **c),
    "sgd": lambda **c: SGD(0.05, momentum=0.9, **c),
    "sgd_nesterov": lambda **c: SGD(0.05, momentum=0.9, nesterov=True, **c),
    "sgd_plain": lambda **c: SGD(0.05, **c),
    "gd": lambda **c: GD(0.05, **c),
    "momentum": lambda **c: Momentum(0.05, **c),
    "rmsprop": lambda **c: RMSprop(0.005, **c),
    "adam": lambda **c: Adam(0.005, **c),
}


@pytest.mark.parametrize("clip", ["none", "clipnorm", "global_clipnorm", "clipvalue"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ENGINE_OPTS))
def test_engines_agree(name, dtype, clip):
    """A layer wide enough for the compiled loop's fused update (its products are
    packed) and a small one (direct loops): the two engines give the same weights."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((256, 64)).astype(dtype)
    Y = (X[:, :1] - X[:, 1:2] > 0).astype(dtype)
    clips = {k: v / 5 for k, v in CLIPS[clip].items()}
    results = []
    for engine in ("python", "compiled"):
        model = Sequential([Input(64), Dense(64, activation="relu", kernel_regularizer=0.1),
                            Dense(1, activation="sigmoid")], dtype=dtype, seed=1)
        model.compile(ENGINE_OPTS[name](**clips), "binary_crossentropy")
        h = model.fit(X, Y, epochs=2, batch_size=128, verbose=0, seed=1, engine=engine)
        assert h.engine == engine
        results.append(model.get_weights())
        assert model.optimizer.iterations == 4
    for a, b in zip(*results):
        assert_close(a, b, dtype, rtol32=1e-4, rtol64=1e-10)
    model0 = Sequential([Input(64), Dense(64, activation="relu"), Dense(1, activation="sigmoid")],
                        dtype=dtype, seed=1)
    model0.build(64)
    moved = any(not np.allclose(a, b) for a, b in zip(results[1], model0.get_weights()))
    assert moved
