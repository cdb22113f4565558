"""elu, selu, gelu, gelu_tanh, silu, softplus, softsign, hard_sigmoid and mish: the
functional API against reference.py and PyTorch, the activation objects, Dense on both
engines against the reference training, the compiled loop against the layer path
(including the packed products' epilogues), gradient_check, save and load."""
import numpy as np
import pytest

import fastdnn
from fastdnn import activations, course, functional as F, gradient_check, reference
from fastdnn._compiled import BACKWARD_INPUT, CODES
from fastdnn.layers import Dense, Input
from fastdnn.models import Sequential
from fastdnn.optimizers import Adam, GD

from test_compiled import assert_same, which_path  # noqa: F401  (a fixture)
from test_models import OPTIMIZERS, RTOL, build_model, make_data, params_of, targets

pytestmark = pytest.mark.usefixtures("one_blas_thread")

NEW = ["elu", "selu", "gelu", "gelu_tanh", "silu", "softplus", "softsign", "hard_sigmoid",
       "mish"]
ON_Z = {"gelu", "gelu_tanh", "silu", "mish"}
TOL = {np.float32: dict(rtol=2e-6, atol=1e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}
# reference.py's plain formulas lose digits where the kernels do not (1 - tanh^2 far out,
# z exp(-z^2/2)): the derivatives are compared to them up to an absolute 1e-12 (float64),
# their accuracy is measured in tests/test_accuracy.py
TOL_D = {np.float32: dict(rtol=2e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}


def z_values(dtype, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    z = np.concatenate([rng.normal(scale=3, size=n), rng.uniform(-30, 30, n),
                        [0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 2.9, -2.9, 20.0, -20.0]])
    return z.astype(dtype)


# ------------------------------------------------------------------ the C lists

def test_backward_inputs_are_declared_once():
    assert {n for n, on in BACKWARD_INPUT.items() if on == "z"} == ON_Z == reference.BACKWARD_ON_Z
    for name in NEW:
        act = activations.get(name)
        spec = act.compiled_spec()
        assert spec.on_z == (name in ON_Z) == (act.backward_input == "z")
        assert spec.forward == CODES["unary"][name]
        assert spec.backward == CODES["binary"]["bw_" + name]


# ------------------------------------------------------- functional vs reference

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NEW)
def test_forward_derivative_backward_match_reference(name, dtype, simd):
    z = z_values(dtype)
    hi = z.astype(np.float64)
    with np.errstate(all="ignore"):
        a_ref = getattr(reference, name)(hi)
        d_ref = getattr(reference, name + "_derivative")(hi)
    a = getattr(F, name)(z)
    assert a.dtype == dtype
    np.testing.assert_allclose(a, a_ref, **TOL[dtype])
    np.testing.assert_allclose(getattr(F, name + "_derivative")(z), d_ref, **TOL_D[dtype])
    dA = np.random.default_rng(1).normal(size=z.shape).astype(dtype)
    x = z if name in ON_Z else a
    dZ = getattr(F, name + "_backward")(dA, x)
    assert dZ.dtype == dtype
    with np.errstate(all="ignore"):
        dZ_ref = getattr(reference, name + "_backward")(dA.astype(np.float64), x.astype(np.float64))
    np.testing.assert_allclose(dZ, dZ_ref, **{k: v * 10 for k, v in TOL_D[dtype].items()})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(set(NEW) - ON_Z))
def test_derivative_from_the_output_is_the_derivative_on_z(name, dtype):
    z = z_values(dtype)
    a = getattr(F, name)(z)
    on_z = getattr(F, name + "_derivative")(z)
    on_a = getattr(F, name + "_derivative")(a, from_output=True)
    tol = {np.float32: 1e-5, np.float64: 1e-12}[dtype]
    if name == "softplus":   # 1 - exp(-a): a rounded loses relative accuracy where sigma << 1
        keep = z > -10
        on_z, on_a = on_z[keep], on_a[keep]
    np.testing.assert_allclose(on_a, on_z, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(ON_Z))
def test_derivatives_on_z_only(name):
    with pytest.raises(ValueError, match="from its output"):
        getattr(F, name + "_derivative")(np.zeros(3), from_output=True)


@pytest.mark.parametrize("name", NEW)
def test_ufunc_semantics(name):
    fwd, der, bwd = (getattr(F, name + s) for s in ("", "_derivative", "_backward"))
    z = np.array([[-2.0, 0.5, np.nan], [np.inf, -np.inf, 3.0]])
    for dtype in (np.float32, np.float64):
        x = z.astype(dtype)
        a = fwd(x)
        assert a.dtype == dtype and a.shape == x.shape
        assert np.isnan(a[0, 2]) and np.isnan(der(x)[0, 2])
        assert np.isnan(bwd(np.ones_like(x), x)[0, 2])
        assert np.isnan(bwd(np.full_like(x, np.nan), np.zeros_like(x))).all()
        finite = np.isfinite(a) | np.isnan(x)
        assert finite.all() or name in {"elu", "selu", "gelu", "gelu_tanh", "silu",
                                        "softplus", "mish"} and not np.isnan(a[1, 0:2]).any()
        assert not np.isnan(der(x)[1, 0:2]).any()     # limits at +-inf, not inf * 0
        out = np.empty_like(x)
        assert fwd(x, out=out) is out
        np.testing.assert_array_equal(out, a)
        y = x.copy()
        fwd(y, out=y)                               # in place
        np.testing.assert_array_equal(y, a)
        strided = np.asfortranarray(np.repeat(x, 3, axis=1))[:, ::3]
        np.testing.assert_array_equal(fwd(strided), a)
    assert isinstance(fwd(0.5), np.floating)        # a 0-d input gives a scalar
    with pytest.raises(TypeError):
        fwd(np.arange(3))
    with pytest.raises(TypeError):
        der(np.zeros(2), from_output=1)


def test_inf_limits():
    inf = np.array([-np.inf, np.inf])
    expected = {"elu": [-1, np.inf], "selu": [-reference.SELU_SCALE * reference.SELU_ALPHA,
                                               np.inf],
                "gelu": [0, np.inf], "gelu_tanh": [0, np.inf], "silu": [0, np.inf],
                "softplus": [0, np.inf], "softsign": [-1, 1], "hard_sigmoid": [0, 1],
                "mish": [0, np.inf]}
    slopes = {"elu": [0, 1], "selu": [0, reference.SELU_SCALE], "softsign": [0, 0],
              "hard_sigmoid": [0, 0], "softplus": [0, 1]}
    for name in NEW:
        for dtype in (np.float32, np.float64):
            np.testing.assert_allclose(getattr(F, name)(inf.astype(dtype)), expected[name],
                                       rtol=1e-7, err_msg=name)
            np.testing.assert_allclose(getattr(F, name + "_derivative")(inf.astype(dtype)),
                                       slopes.get(name, [0, 1]), rtol=1e-7, err_msg=name)


def test_gelu_approximate_flag_and_elu_alpha():
    z = z_values(np.float64)
    np.testing.assert_array_equal(F.gelu(z, approximate=True), F.gelu_tanh(z))
    np.testing.assert_array_equal(F.gelu_derivative(z, approximate=True),
                                  F.gelu_tanh_derivative(z))
    np.testing.assert_array_equal(F.gelu_backward(z, z, approximate=True),
                                  F.gelu_tanh_backward(z, z))
    np.testing.assert_allclose(F.elu(z, alpha=0.5), reference.elu(z, 0.5), rtol=1e-15)
    np.testing.assert_allclose(F.elu_derivative(z, alpha=0.5), reference.elu_derivative(z, 0.5),
                               rtol=1e-15)
    a = F.elu(z, alpha=0.5)
    np.testing.assert_allclose(F.elu_backward(np.ones_like(z), a, alpha=0.5),
                               F.elu_derivative(z, alpha=0.5), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError):
        F.elu(z, alpha=-1.0)
    with pytest.raises(TypeError, match="approximate"):
        F.gelu(z, approximate="tanh")


# ------------------------------------------------------------------ PyTorch

TORCH = {
    "elu": lambda t, nn: nn.functional.elu(t),
    "selu": lambda t, nn: nn.functional.selu(t),
    "gelu": lambda t, nn: nn.functional.gelu(t),
    "gelu_tanh": lambda t, nn: nn.functional.gelu(t, approximate="tanh"),
    "silu": lambda t, nn: nn.functional.silu(t),
    "softplus": lambda t, nn: nn.functional.softplus(t, threshold=1000.0),
    "softsign": lambda t, nn: nn.functional.softsign(t),
    "hard_sigmoid": lambda t, nn: nn.functional.hardsigmoid(t),
    "mish": lambda t, nn: nn.functional.mish(t),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NEW)
def test_against_pytorch_and_its_autograd(name, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    z = np.concatenate([rng.normal(scale=3, size=3000), rng.uniform(-15, 15, 1000)])
    if name == "hard_sigmoid":   # the kinks at +-3, where the one-sided slopes differ
        z = z[np.abs(np.abs(z) - 3) > 1e-6]
    z = z.astype(dtype)
    # PyTorch in float64 for both dtypes: its float32 tanh-GELU loses the tail to
    # cancellation (1 + tanh(u)) where fastdnn's float32 kernels compute in double
    t = torch.tensor(z.astype(np.float64), requires_grad=True)
    out = TORCH[name](t, torch.nn)
    dA = rng.normal(size=z.shape).astype(dtype)
    out.backward(torch.tensor(dA.astype(np.float64)))
    tol = {np.float32: dict(rtol=1e-6, atol=1e-7), np.float64: dict(rtol=1e-12, atol=1e-14)}
    if name == "hard_sigmoid":   # PyTorch's backward multiplies by 1/6 rounded to float32
        tol[np.float64] = dict(rtol=1e-7, atol=1e-14)
    a = getattr(F, name)(z)
    np.testing.assert_allclose(a, out.detach().numpy(), **tol[dtype])
    np.testing.assert_allclose(getattr(F, name + "_derivative")(z) * dA, t.grad.numpy(),
                               **tol[dtype])
    x = z if name in ON_Z else a
    np.testing.assert_allclose(getattr(F, name + "_backward")(dA, x), t.grad.numpy(),
                               **{k: v * 10 for k, v in tol[dtype].items()})


# --------------------------------------------------------------- the objects

@pytest.mark.parametrize("name", NEW)
def test_registry_and_config_round_trip(name):
    act = activations.get(name)
    assert act.name == name
    again = activations.get(act.get_config())
    assert again == act and type(again) is type(act) or name == "gelu_tanh"
    assert activations.get(name.upper()) == act
    z = z_values(np.float64)
    np.testing.assert_array_equal(act(z), getattr(F, name)(z))
    np.testing.assert_array_equal(act.derivative(z), getattr(F, name + "_derivative")(z))


def test_aliases_and_parameters():
    assert activations.get("swish") == activations.SiLU()
    assert activations.get({"name": "gelu", "approximate": True}) == activations.get("gelu_tanh")
    assert activations.GELU(approximate=True).compiled_spec() == \
        activations.GELUTanh().compiled_spec()
    elu = activations.get({"name": "elu", "alpha": 0.3})
    assert elu.alpha == 0.3 and elu.compiled_spec().alpha == 0.3
    with pytest.raises(AttributeError):
        elu.alpha = 1.0
    for name in NEW:
        assert name in activations.names()


# ----------------------------------------------------- Dense, both engines

@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "layers"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NEW)
def test_fit_matches_reference_training(name, dtype, compiled):
    """A hidden layer of each activation (and the same as a non-fused output under mse)
    trains as reference.train does, on the compiled loop and on the layer path."""
    for loss, output, hidden in (("binary_crossentropy", "sigmoid", name), ("mse", name, "tanh")):
        X, y, n_out = make_data(loss, dtype=dtype)
        model = build_model(hidden, output, n_out, X.shape[1], dtype)
        make_opt, hyper = OPTIMIZERS["adam"]
        model.compile(make_opt(), loss, compiled=compiled)
        start = params_of(model)
        model.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0, engine=(
            "compiled" if compiled else "python"))
        expected, _ = reference.train(X.T.copy(), targets(loss, y, n_out, dtype), start,
                                      [hidden, output], loss=loss, optimizer="adam",
                                      learning_rate=model.optimizer.learning_rate, epochs=3,
                                      batch_size=16, **hyper)
        for layer, (W, b) in zip([l for l in model.layers if isinstance(l, Dense)], expected):
            np.testing.assert_allclose(layer.W, W, rtol=RTOL[dtype], atol=RTOL[dtype] * 10)
            np.testing.assert_allclose(layer.b, b, rtol=RTOL[dtype], atol=RTOL[dtype] * 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NEW)
def test_compiled_loop_equals_layer_path(name, dtype, which_path):  # noqa: F811
    """Small layers (direct loops, the separate backward pass) and layers whose products
    are packed (the forward epilogue, and dZ = C * g'(Z or A) in the epilogue of the dA
    product), each with the activation: the same weights after a few steps."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(256, 30)).astype(dtype)
    y = rng.integers(0, 3, size=256)
    for sizes, batch in (((7, 6), 16), ((96, 80), 128)):
        results = []
        for compiled in (True, False):
            model = Sequential([Input(30), Dense(sizes[0], activation=name),
                                Dense(sizes[1], activation=name), Dense(3, activation="softmax")],
                               dtype=dtype, seed=4)
            model.compile(Adam(1e-3), "categorical_crossentropy", ["accuracy"],
                          compiled=compiled)
            h = model.fit(X, y, epochs=2, batch_size=batch, seed=1, verbose=0)
            results.append((model, h))
        assert_same(results, dtype)
    assert which_path == [True, False, True, False]


@pytest.mark.parametrize("name", NEW)
def test_gradient_check(name):
    """The course's steps with the activation against centred finite differences."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(4, 9))
    Y = (rng.random((1, 9)) > 0.5).astype(np.float64)
    params = {"W1": rng.normal(size=(5, 4)), "b1": rng.normal(size=(5, 1)) * 0.1,
              "W2": rng.normal(size=(1, 5)), "b2": np.zeros((1, 1))}

    def cost(p):
        A1, _ = course.linear_activation_forward(X, p["W1"], p["b1"], name)
        A2, _ = course.linear_activation_forward(A1, p["W2"], p["b2"], "sigmoid")
        return float(course.compute_cost(A2, Y))

    A1, c1 = course.linear_activation_forward(X, params["W1"], params["b1"], name)
    A2, c2 = course.linear_activation_forward(A1, params["W2"], params["b2"], "sigmoid")
    dA2 = -(Y / A2 - (1 - Y) / (1 - A2))
    dA1, dW2, db2 = course.linear_activation_backward(dA2, c2, "sigmoid")
    _, dW1, db1 = course.linear_activation_backward(dA1, c1, name)
    grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
    assert gradient_check(cost, params, grads) < 1e-6


@pytest.mark.parametrize("name", NEW)
def test_dense_cache_keeps_what_backward_takes(name):
    rng = np.random.default_rng(0)
    A_prev, W, b = rng.normal(size=(3, 6)), rng.normal(size=(4, 3)), rng.normal(size=(4, 1))
    A, cache = F.dense_forward(A_prev, W, b, name)
    Z = W @ A_prev + b
    np.testing.assert_allclose(A, getattr(reference, name)(Z), rtol=1e-13, atol=1e-15)
    assert (cache.Z is not None) == (name in ON_Z)
    dA = rng.normal(size=A.shape)
    _, dW, db = F.dense_backward(dA, cache)
    dZ = getattr(reference, name + "_backward")(dA, Z if name in ON_Z else A)
    np.testing.assert_allclose(dW, dZ @ A_prev.T / 6, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(db, dZ.mean(axis=1, keepdims=True), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", NEW)
def test_save_and_load(name, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(np.float64)
    act = {"name": "elu", "alpha": 0.7} if name == "elu" else name
    model = Sequential([Input(3), Dense(5, activation=act), Dense(1, activation="sigmoid")],
                       seed=0)
    model.compile(GD(0.1), "binary_crossentropy")
    model.fit(X, y, epochs=2, verbose=0)
    path = tmp_path / "model.fdnn"
    model.save(path)
    loaded = fastdnn.load_model(path)
    assert loaded.layers[1].activation == model.layers[1].activation
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
