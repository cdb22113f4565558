"""Optimizers against the plain-NumPy steps of fastdnn.reference."""

import numpy as np
import pytest

import fastdnn.optimizers as optimizers
from fastdnn import reference
from fastdnn.optimizers import (GD, SGD, Adagrad, Adam, Adamax, AdamW, Momentum, Nadam, Optimizer,
                                RMSprop)
from fastdnn.schedules import ExponentialDecay, InverseTimeDecay, LearningRateSchedule

NAMES = ["gd", "momentum", "rmsprop", "adam", "adamw", "nadam", "adagrad", "adamax", "sgd",
         "sgd_nesterov", "sgd_plain"]
CLASSES = {"gd": GD, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
           "nadam": Nadam, "adagrad": Adagrad, "adamax": Adamax, "sgd": SGD,
           "sgd_nesterov": SGD, "sgd_plain": SGD}
SLOTS = {"gd": (), "momentum": ("v",), "rmsprop": ("s",), "adam": ("m", "v"),
         "adamw": ("m", "v"), "nadam": ("m", "v"), "adagrad": ("s",), "adamax": ("m", "u"),
         "sgd": ("b",), "sgd_nesterov": ("b",), "sgd_plain": ()}
# not the defaults, so that a hyperparameter lost or swapped on the way shows
HYPER = {
    "gd": {"learning_rate": 0.05},
    "momentum": {"learning_rate": 0.05, "beta": 0.8},
    "rmsprop": {"learning_rate": 0.01, "beta": 0.9, "epsilon": 1e-4},
    "adam": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-4},
    "adamw": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-4,
              "weight_decay": 0.3},
    "nadam": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-4,
              "momentum_decay": 0.3},
    "adagrad": {"learning_rate": 0.05, "initial_accumulator_value": 0.2, "epsilon": 1e-4},
    "adamax": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-4},
    "sgd": {"learning_rate": 0.05, "momentum": 0.8, "nesterov": False},
    "sgd_nesterov": {"learning_rate": 0.05, "momentum": 0.7, "nesterov": True},
    "sgd_plain": {"learning_rate": 0.05, "momentum": 0.0, "nesterov": False},
}
DEFAULTS = {"gd": {}, "momentum": {}, "rmsprop": {}, "adam": {}, "adamw": {}, "nadam": {},
            "adagrad": {}, "adamax": {}, "sgd": {"momentum": 0.9},
            "sgd_nesterov": {"momentum": 0.9, "nesterov": True},
            "sgd_plain": {}}


def initial_state(name, shape, hyper):
    """The reference's state arrays before the first step."""
    value = hyper.get("initial_accumulator_value", 0.0) if name == "adagrad" else 0.0
    return {s: np.full(shape, value) for s in SLOTS[name]}
DTYPES = [np.float32, np.float64]


def make_opt(name, **overrides):
    return CLASSES[name](**{**HYPER[name], **overrides})


def reference_step(name, hyper, p, g, state, t, decay):
    """(new p, new state) from the reference functions, in float64."""
    p, g = p.astype(np.float64), g.astype(np.float64)
    lr = hyper["learning_rate"]
    if name == "gd" or name == "sgd_plain":
        return reference.gd_step(p, g, lr, decay=decay), {}
    if name.startswith("sgd"):
        p, b = reference.sgd_step(p, g, state["b"], lr, momentum=hyper.get("momentum", 0.0),
                                  nesterov=hyper.get("nesterov", False), decay=decay)
        return p, {"b": b}
    if name == "adagrad":
        p, s = reference.adagrad_step(p, g, state["s"], lr, epsilon=hyper.get("epsilon", 1e-10),
                                      decay=decay)
        return p, {"s": s}
    adam_like = dict(beta1=hyper.get("beta1", 0.9), beta2=hyper.get("beta2", 0.999),
                     epsilon=hyper.get("epsilon", 1e-8), decay=decay)
    if name == "adamw":
        p, m, v = reference.adamw_step(p, g, state["m"], state["v"], t, lr,
                                       weight_decay=hyper.get("weight_decay", 0.01), **adam_like)
        return p, {"m": m, "v": v}
    if name == "nadam":
        p, m, v = reference.nadam_step(p, g, state["m"], state["v"], t, lr,
                                       momentum_decay=hyper.get("momentum_decay", 0.004),
                                       **adam_like)
        return p, {"m": m, "v": v}
    if name == "adamax":
        p, m, u = reference.adamax_step(p, g, state["m"], state["u"], t, lr, **adam_like)
        return p, {"m": m, "u": u}
    if name == "momentum":
        p, v = reference.momentum_step(p, g, state["v"], lr, beta=hyper.get("beta", 0.9),
                                       decay=decay)
        return p, {"v": v}
    if name == "rmsprop":
        p, s = reference.rmsprop_step(p, g, state["s"], lr, beta=hyper.get("beta", 0.999),
                                      epsilon=hyper.get("epsilon", 1e-8), decay=decay)
        return p, {"s": s}
    p, m, v = reference.adam_step(p, g, state["m"], state["v"], t, lr,
                                  beta1=hyper.get("beta1", 0.9), beta2=hyper.get("beta2", 0.999),
                                  epsilon=hyper.get("epsilon", 1e-8), decay=decay)
    return p, {"m": m, "v": v}


def assert_close(actual, expected, dtype):
    """Within rtol of the float64 reference, relative to the array's scale for
    entries near zero (rtol 1e-5 for float32, 1e-12 for float64)."""
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def array(rng, shape, dtype, order="C", scale=1.0):
    return np.array(scale * rng.standard_normal(shape), dtype=dtype, order=order)


def data_ptr(a):
    return a.__array_interface__["data"][0]


class Run:
    """An optimizer and the reference advancing side by side on the same grads."""

    def __init__(self, name, params, decays, hyper=None):
        self.name = name
        self.hyper = HYPER[name] if hyper is None else hyper
        self.opt = CLASSES[name](**self.hyper)
        self.params = params
        self.decays = decays
        self.ref = [p.astype(np.float64) for p in params]
        self.ref_state = [initial_state(name, p.shape, self.hyper) for p in params]

    def step(self, grads):
        t = self.opt.iterations + 1
        self.opt.apply_gradients(self.params, grads, self.decays)
        for i, g in enumerate(grads):
            d = 0.0 if self.decays is None else self.decays[i]
            self.ref[i], self.ref_state[i] = reference_step(
                self.name, self.hyper, self.ref[i], g, self.ref_state[i], t, d)

    def check(self):
        state = self.opt.get_state()
        for i, p in enumerate(self.params):
            assert_close(p, self.ref[i], p.dtype)
            for s in SLOTS[self.name]:
                assert state[f"{s}/{i}"].dtype == p.dtype
                assert_close(state[f"{s}/{i}"], self.ref_state[i][s], p.dtype)


# ------------------------------------------------------------ against reference

@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (256, 784), (5,)])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_matches_reference(simd, name, dtype, order, shape):
    rng = np.random.default_rng([NAMES.index(name), *shape])
    W = array(rng, shape, dtype, order)
    b = array(rng, (shape[0], 1), dtype)
    params = [W, b]
    ptrs = [data_ptr(p) for p in params]
    run = Run(name, params, decays=[0.03, 0.0])
    for step in range(6):
        grads = [array(rng, shape, dtype, order, scale=0.5 + step),
                 array(rng, (shape[0], 1), dtype)]
        if W.size > 1:
            grads[0].flat[0] = 0  # a zero gradient: 0 / (sqrt(0) + eps) in RMSprop
        before = [g.copy() for g in grads]
        run.step(grads)
        run.check()  # every step, so Adam's bias correction is checked at t = 1, 2, ...
        assert run.opt.iterations == step + 1
        for g, g0 in zip(grads, before):
            np.testing.assert_array_equal(g, g0)  # gradients are only read
    # updated in place: same objects, same memory, dtype and order kept
    assert run.params[0] is W and run.params[1] is b
    assert [data_ptr(p) for p in params] == ptrs
    assert W.dtype == dtype and b.dtype == dtype
    assert W.flags[f"{order}_CONTIGUOUS"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_default_hyperparameters_match_reference_defaults(name, dtype):
    rng = np.random.default_rng(1)
    W = array(rng, (4, 6), dtype)
    opt = CLASSES[name](**DEFAULTS[name])
    expected_lr = {"gd": 0.01, "momentum": 0.01, "adagrad": 0.01, "nadam": 0.002,
                   "adamax": 0.002}.get(name.split("_")[0], 0.001)
    if name.startswith("sgd"):
        expected_lr = 0.01
    assert opt.learning_rate == expected_lr
    run = Run(name, [W], None, hyper={"learning_rate": expected_lr, **DEFAULTS[name]})
    for _ in range(3):
        run.step([array(rng, (4, 6), dtype)])
        run.check()


@pytest.mark.parametrize("name", NAMES)
def test_no_decays_is_zero_decays(name):
    rng = np.random.default_rng(2)
    P1 = [array(rng, (3, 4), np.float64), array(rng, (3, 1), np.float64)]
    P2 = [p.copy() for p in P1]
    o1, o2 = make_opt(name), make_opt(name)
    for _ in range(3):
        G = [array(rng, (3, 4), np.float64), array(rng, (3, 1), np.float64)]
        o1.apply_gradients(P1, G)
        o2.apply_gradients(P2, G, decays=(0.0, 0.0))
    for a, b in zip(P1, P2):
        np.testing.assert_array_equal(a, b)


def test_decay_is_an_l2_gradient():
    """decay d adds d * p to the gradient: GD with decay = GD on grad + d * p."""
    p = np.array([[1.0, -2.0], [3.0, 0.5]])
    g = np.array([[0.1, 0.2], [0.3, 0.4]])
    GD(learning_rate=0.1).apply_gradients([p], [g], decays=[0.5])
    np.testing.assert_allclose(p, np.array([[1.0, -2.0], [3.0, 0.5]])
                               - 0.1 * (g + 0.5 * np.array([[1.0, -2.0], [3.0, 0.5]])))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_gradient_in_another_layout(name, dtype):
    """C params with F, strided or byte-swapped grads (and F params with C grads)
    take the copy path and give the reference result."""
    rng = np.random.default_rng(3)
    params = [array(rng, (7, 3), dtype, "C"), array(rng, (7, 3), dtype, "F"),
              array(rng, (6, 5), dtype, "C"), array(rng, (4, 4), dtype, "C")]
    run = Run(name, params, decays=[0.1, 0.0, 0.2, 0.0])
    for _ in range(4):
        big = array(rng, (6, 10), dtype)
        grads = [array(rng, (7, 3), dtype, "F"), array(rng, (7, 3), dtype, "C"),
                 big[:, ::2], array(rng, (4, 4), dtype).astype(np.dtype(dtype).newbyteorder())]
        before = [g.copy() for g in grads]
        run.step(grads)
        run.check()
        for g, g0 in zip(grads, before):
            np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_sharing_memory_with_its_parameter(name):
    rng = np.random.default_rng(4)
    for p_at, g_at in [(slice(0, 10), slice(1, 11)), (slice(1, 11), slice(0, 10))]:
        buf = array(rng, (11,), np.float64)
        p, g = buf[p_at], buf[g_at]  # partial overlap: g is read as it was before the step
        expected, _ = reference_step(name, HYPER[name], p.copy(), g.copy(),
                                     initial_state(name, 10, HYPER[name]), 1, 0.1)
        make_opt(name).apply_gradients([p], [g], decays=[0.1])
        assert_close(p, expected, np.float64)
    q = array(rng, (3, 3), np.float64)  # the same array as gradient
    expected, _ = reference_step(name, HYPER[name], q.copy(), q.copy(),
                                 initial_state(name, (3, 3), HYPER[name]), 1, 0.0)
    make_opt(name).apply_gradients([q], [q])
    assert_close(q, expected, np.float64)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_parameter_changing_memory_order_keeps_state(name):
    """State built for a C array still applies when the same-shaped parameter
    comes back F-ordered: values are kept, the layout follows."""
    rng = np.random.default_rng(5)
    W = array(rng, (5, 4), np.float64, "C")
    run = Run(name, [W], None)
    for _ in range(2):
        run.step([array(rng, (5, 4), np.float64)])
    run.params[0] = np.asfortranarray(W)
    for _ in range(2):
        run.step([array(rng, (5, 4), np.float64, "F")])
        run.check()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_empty_arrays(name, dtype):
    p = np.zeros((0, 3), dtype=dtype)
    opt = make_opt(name)
    opt.apply_gradients([p], [np.zeros((0, 3), dtype=dtype)], decays=[0.1])
    assert opt.iterations == 1 and p.shape == (0, 3)
    if not SLOTS[name]:  # no state, so any list of arrays will do
        opt.apply_gradients([], [])
        assert opt.iterations == 2
    else:
        with pytest.raises(ValueError, match="built for 1 parameter arrays, got 0"):
            opt.apply_gradients([], [])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_nan_gradient_propagates(simd, name, dtype):
    rng = np.random.default_rng(6)
    p = array(rng, (4, 5), dtype)
    g = array(rng, (4, 5), dtype)
    g[1, 2] = np.nan
    run = Run(name, [p], [0.01])
    run.step([g])
    assert np.isnan(p[1, 2])
    mask = np.ones(p.shape, bool)
    mask[1, 2] = False
    assert np.all(np.isfinite(p[mask]))
    assert_close(p[mask], run.ref[0][mask], dtype)


def test_sgd_without_momentum_is_gd_and_old_sgd_configs_load():
    """"sgd" once named GD: its configs (and GD's) load, with the same steps."""
    assert type(optimizers.get("sgd")) is SGD
    old = optimizers.get({"class_name": "sgd", "config": {"learning_rate": 0.2}})
    assert type(old) is SGD and old.momentum == 0.0 and not old.nesterov
    assert type(optimizers.get({"class_name": "GD", "config": {"learning_rate": 0.2}})) is GD
    rng = np.random.default_rng(11)
    P1 = [array(rng, (4, 3), np.float64), array(rng, (4, 1), np.float64)]
    P2 = [p.copy() for p in P1]
    gd = GD(0.2)
    for _ in range(3):
        G = [array(rng, (4, 3), np.float64), array(rng, (4, 1), np.float64)]
        old.apply_gradients(P1, G, [0.1, 0.0])
        gd.apply_gradients(P2, G, [0.1, 0.0])
    for a, b in zip(P1, P2):
        np.testing.assert_array_equal(a, b)
    assert old.get_state().keys() == gd.get_state().keys()   # no buffer without momentum
    assert old.compiled_spec().code == optimizers.get("sgd").compiled_spec().code


# ------------------------------------------------------------------ state

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_continues_identically(name, dtype, tmp_path):
    rng = np.random.default_rng(7)
    shapes = [(6, 4), (6, 1), (3, 6), (3, 1)]
    P = [array(rng, s, dtype, order="F" if i == 2 else "C") for i, s in enumerate(shapes)]
    decays = [0.02, 0.0, 0.02, 0.0]
    grads = [[array(rng, s, dtype) for s in shapes] for _ in range(6)]
    opt = make_opt(name, learning_rate=ExponentialDecay(0.02, 0.9))
    for epoch in range(3):
        opt.epoch = epoch
        opt.apply_gradients(P, grads[epoch], decays)
    np.savez(tmp_path / "opt.npz", **opt.get_state())
    saved_params = [p.copy(order="K") for p in P]
    config = optimizers.serialize(opt)
    for epoch in range(3, 6):  # the uninterrupted run
        opt.epoch = epoch
        opt.apply_gradients(P, grads[epoch], decays)

    with np.load(tmp_path / "opt.npz", allow_pickle=False) as f:
        state = dict(f)
    resumed = optimizers.get(config)
    resumed.set_state(state, saved_params)
    assert resumed.iterations == 3 and resumed.epoch == 2
    for epoch in range(3, 6):
        resumed.epoch = epoch
        resumed.apply_gradients(saved_params, grads[epoch], decays)
    for a, b in zip(P, saved_params):
        np.testing.assert_array_equal(a, b)
    assert resumed.iterations == opt.iterations == 6
    s1, s2 = opt.get_state(), resumed.get_state()
    assert sorted(s1) == sorted(s2)
    for k in s1:
        np.testing.assert_array_equal(s1[k], s2[k])


@pytest.mark.parametrize("name", NAMES)
def test_get_state_contents(name):
    opt = make_opt(name)
    state = opt.get_state()
    assert sorted(state) == ["epoch", "iterations"]
    W = np.ones((2, 3), dtype=np.float32)
    opt.epoch = 4
    opt.apply_gradients([W], [np.ones((2, 3), dtype=np.float32)])
    state = opt.get_state()
    assert sorted(state) == sorted(["epoch", "iterations"] + [f"{s}/0" for s in SLOTS[name]])
    for k in ("iterations", "epoch"):
        assert type(state[k]) is np.ndarray and state[k].shape == () and state[k].dtype == np.int64
    assert int(state["iterations"]) == 1 and int(state["epoch"]) == 4
    for s in SLOTS[name]:
        a = state[f"{s}/0"]
        assert type(a) is np.ndarray and a.dtype == np.float32 and a.shape == (2, 3)
        a[...] = 123  # a copy: the optimizer's state is untouched
        assert not np.any(opt.get_state()[f"{s}/0"] == 123)


def test_set_state_before_first_step_and_stateless_gd():
    W = np.ones((2, 2))
    fresh = Adam().get_state()
    opt = Adam()
    opt.set_state(fresh, [W])
    assert not opt.built and opt.iterations == 0
    gd = GD()
    gd.set_state({"iterations": np.array(5), "epoch": np.array(2)}, [W])
    assert gd.iterations == 5 and gd.epoch == 2


@pytest.mark.parametrize("mutate, error, match", [
    (lambda s: s.pop("iterations"), ValueError, "missing 'iterations'"),
    (lambda s: s.pop("v/1"), ValueError, r"missing \['v/1'\]"),
    (lambda s: s.update({"m/7": np.zeros(2)}), ValueError, "unknown keys"),
    (lambda s: s.update({"m/0": np.zeros((3, 2))}), ValueError, r"'m/0' has shape \(3, 2\).*"
                                                                r"expected shape \(2, 3\)"),
    (lambda s: s.update({"v/1": np.zeros((2, 1), np.float32)}), ValueError,
     "dtype float32, expected shape .* dtype float64"),
    (lambda s: s.update({"iterations": np.array(-1)}), ValueError, "'iterations' must be"),
    (lambda s: s.update({"epoch": np.array(1.5)}), ValueError, "'epoch' must be"),
    (lambda s: [s.pop(k) for k in ("m/0", "m/1", "v/0", "v/1")], ValueError,
     "iterations=2 but no state arrays"),
])
def test_set_state_errors_leave_the_optimizer_unchanged(mutate, error, match):
    P = [np.ones((2, 3)), np.ones((2, 1))]
    src = Adam()
    for _ in range(2):
        src.apply_gradients(P, [np.full((2, 3), 0.5), np.full((2, 1), 0.5)])
    state = src.get_state()
    mutate(state)
    dst = Adam()
    dst.apply_gradients(P, [np.ones((2, 3)), np.ones((2, 1))])
    before = dst.get_state()
    with pytest.raises(error, match=match):
        dst.set_state(state, P)
    after = dst.get_state()
    assert sorted(before) == sorted(after)
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])


def test_set_state_type_errors():
    with pytest.raises(TypeError, match="state must be a dict"):
        Adam().set_state([1, 2], [np.ones(2)])
    with pytest.raises(TypeError, match=r"params\[0\] must be a numpy.ndarray"):
        Adam().set_state(Adam().get_state(), [[1.0, 2.0]])


# ----------------------------------------------------------------- config

@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lr", [0.02, InverseTimeDecay(0.1, decay_rate=0.5, decay_steps=2)])
def test_config_round_trip(name, lr):
    opt = make_opt(name, learning_rate=lr)
    config = opt.get_config()
    assert set(config) == {"learning_rate", *HYPER[name]}
    if isinstance(lr, LearningRateSchedule):
        assert config["learning_rate"] == {"class_name": "InverseTimeDecay",
                                           "config": lr.get_config()}
    clone = CLASSES[name].from_config(config)
    assert type(clone) is type(opt) and clone.get_config() == config
    for epoch in range(4):
        opt.epoch = clone.epoch = epoch
        assert clone.learning_rate == opt.learning_rate
    assert optimizers.get(optimizers.serialize(opt)).get_config() == config
    import json
    assert optimizers.get(json.loads(json.dumps(optimizers.serialize(opt)))).get_config() == config


def test_hyperparameters_in_config_and_properties():
    a = Adam(learning_rate=0.002, beta1=0.5, beta2=0.75, epsilon=1e-6)
    assert (a.learning_rate, a.beta1, a.beta2, a.epsilon) == (0.002, 0.5, 0.75, 1e-6)
    assert a.get_config() == {"learning_rate": 0.002, "beta1": 0.5, "beta2": 0.75,
                              "epsilon": 1e-6}
    r = RMSprop(beta=0.5, epsilon=1e-3)
    assert r.get_config() == {"learning_rate": 0.001, "beta": 0.5, "epsilon": 1e-3}
    assert Momentum().get_config() == {"learning_rate": 0.01, "beta": 0.9}
    assert GD().get_config() == {"learning_rate": 0.01}
    assert repr(Momentum()) == "Momentum(learning_rate=0.01, beta=0.9)"


# --------------------------------------------------------------- registry

@pytest.mark.parametrize("ident, cls", [("gd", GD), ("SGD", SGD), ("Momentum", Momentum),
                                        ("rmsprop", RMSprop), ("RMSProp", RMSprop),
                                        ("ADAM", Adam), ("AdamW", AdamW), ("nadam", Nadam),
                                        ("Adagrad", Adagrad), ("adamax", Adamax)])
def test_get_by_name(ident, cls):
    opt = optimizers.get(ident)
    assert type(opt) is cls
    assert opt.get_config() == cls().get_config()


def test_get_instance_and_dict():
    a = Adam()
    assert optimizers.get(a) is a
    m = optimizers.get({"class_name": "Momentum", "config": {"learning_rate": 0.3, "beta": 0.5}})
    assert type(m) is Momentum and m.learning_rate == 0.3 and m.beta == 0.5
    assert type(optimizers.get({"class_name": "sgd"})) is SGD
    assert optimizers.serialize(SGD(0.2)) == {
        "class_name": "SGD", "config": {"learning_rate": 0.2, "momentum": 0.0, "nesterov": False}}


def test_get_errors():
    with pytest.raises(ValueError, match="unknown optimizer 'lion'; known names: .*adamax"):
        optimizers.get("lion")
    with pytest.raises(ValueError, match="unknown optimizer 'Lamb'"):
        optimizers.get({"class_name": "Lamb", "config": {}})
    with pytest.raises(ValueError, match="class_name"):
        optimizers.get({"config": {}})
    with pytest.raises(TypeError, match="identifier must be"):
        optimizers.get(3)
    with pytest.raises(TypeError, match="optimizer must be an Optimizer"):
        optimizers.serialize("adam")
    with pytest.raises(TypeError, match="unexpected keyword"):
        optimizers.get({"class_name": "adam", "config": {"beta": 0.5}})


# ------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("cls, kwargs, error, match", [
    (GD, {"learning_rate": float("nan")}, ValueError, "learning_rate must be a finite number > 0"),
    (GD, {"learning_rate": float("inf")}, ValueError, "learning_rate"),
    (GD, {"learning_rate": 0.0}, ValueError, "learning_rate"),
    (GD, {"learning_rate": -0.1}, ValueError, "learning_rate"),
    (GD, {"learning_rate": "0.1"}, TypeError, "learning_rate must be a number"),
    (GD, {"learning_rate": True}, TypeError, "learning_rate"),
    (Momentum, {"beta": 1.0}, ValueError, r"beta must be a finite number in \[0, 1\), got 1.0"),
    (Momentum, {"beta": -0.1}, ValueError, "beta must be a finite number in"),
    (Momentum, {"beta": float("nan")}, ValueError, "beta must be a finite number in"),
    (Momentum, {"beta": None}, TypeError, "beta must be a real number"),
    (RMSprop, {"beta": 1.5}, ValueError, "beta must be a finite number in"),
    (RMSprop, {"epsilon": 0.0}, ValueError, "epsilon must be a finite number > 0"),
    (RMSprop, {"epsilon": float("inf")}, ValueError, "epsilon"),
    (Adam, {"beta1": 1.0}, ValueError, "beta1 must be a finite number in"),
    (Adam, {"beta2": -1e-9}, ValueError, "beta2 must be a finite number in"),
    (Adam, {"epsilon": -1e-8}, ValueError, "epsilon"),
    (Adam, {"learning_rate": float("nan")}, ValueError, "learning_rate"),
    (AdamW, {"weight_decay": -0.1}, ValueError, "weight_decay must be a finite number >= 0"),
    (AdamW, {"weight_decay": float("inf")}, ValueError, "weight_decay"),
    (AdamW, {"weight_decay": "0.1"}, TypeError, "weight_decay must be a real number"),
    (AdamW, {"beta2": 1.0}, ValueError, "beta2 must be a finite number in"),
    (Nadam, {"momentum_decay": -1.0}, ValueError, "momentum_decay must be a finite number >= 0"),
    (Nadam, {"momentum_decay": None}, TypeError, "momentum_decay must be a real number"),
    (Nadam, {"epsilon": 0.0}, ValueError, "epsilon must be a finite number > 0"),
    (Adagrad, {"initial_accumulator_value": -0.1}, ValueError,
     "initial_accumulator_value must be a finite number >= 0"),
    (Adagrad, {"initial_accumulator_value": float("nan")}, ValueError,
     "initial_accumulator_value"),
    (Adagrad, {"epsilon": -1e-10}, ValueError, "epsilon must be a finite number > 0"),
    (Adamax, {"beta1": 1.0}, ValueError, "beta1 must be a finite number in"),
    (Adamax, {"epsilon": float("nan")}, ValueError, "epsilon"),
    (SGD, {"momentum": -0.5}, ValueError, r"momentum must be a finite number in \[0, 1\]"),
    (SGD, {"momentum": 1.5}, ValueError, "momentum must be a finite number in"),
    (SGD, {"momentum": "0.9"}, TypeError, "momentum must be a real number"),
    (SGD, {"nesterov": 1}, TypeError, "nesterov must be a bool"),
    (SGD, {"nesterov": "yes"}, TypeError, "nesterov must be a bool"),
    (SGD, {"learning_rate": 0.0}, ValueError, "learning_rate"),
])
def test_bad_hyperparameters(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**kwargs)


def test_zero_betas_are_allowed():
    p = np.ones(3)
    Adam(learning_rate=0.1, beta1=0.0, beta2=0.0, epsilon=1e-8).apply_gradients(
        [p], [np.full(3, 2.0)])
    expected, _, _ = reference.adam_step(np.ones(3), np.full(3, 2.0), np.zeros(3), np.zeros(3),
                                         1, 0.1, 0.0, 0.0, 1e-8)
    np.testing.assert_allclose(p, expected, rtol=1e-12)


def _bad_inputs(dtype=np.float64):
    """(params, grads, decays) variants, each wrong only in entry 1."""
    rng = np.random.default_rng(8)
    P = [array(rng, (4, 3), dtype), array(rng, (4, 1), dtype)]
    G = [array(rng, (4, 3), dtype), array(rng, (4, 1), dtype)]
    ro = P[1].copy()
    ro.flags.writeable = False
    return P, G, [
        ("shape", P, [G[0], np.zeros((1, 4))], None, ValueError,
         r"grads\[1\] has shape \(1, 4\) but params\[1\] has shape \(4, 1\)"),
        ("dtype", P, [G[0], G[1].astype(np.float32)], None, TypeError,
         r"grads\[1\] has dtype float32 but params\[1\] has dtype float64"),
        ("int grad", P, [G[0], np.zeros((4, 1), int)], None, TypeError, r"grads\[1\] has dtype"),
        ("count", P, [G[0]], None, ValueError, "got 1 grads for 2 params"),
        ("list grad", P, [G[0], [[1.0]] * 4], None, TypeError,
         r"grads\[1\] must be a numpy.ndarray, got list"),
        ("decay count", P, G, [0.1], ValueError, "got 1 decays for 2 params"),
        ("negative decay", P, G, [0.1, -0.1], ValueError,
         r"decays\[1\] must be a finite number >= 0, got -0.1"),
        ("nan decay", P, G, [0.1, float("nan")], ValueError, r"decays\[1\]"),
        ("str decay", P, G, [0.1, "0"], TypeError, r"decays\[1\] must be a real number"),
        ("strided param", [P[0], np.ones((4, 2))[:, :1]], G, None, ValueError,
         r"params\[1\] must be a writeable, aligned, C- or F-contiguous array"),
        ("read-only param", [P[0], ro], G, None, ValueError, r"params\[1\] must be a writeable"),
        ("int param", [P[0], np.ones((4, 1), int)], G, None, TypeError,
         r"params\[1\] must be a float32 or float64 array"),
        ("list param", [P[0], [[1.0]] * 4], G, None, TypeError,
         r"params\[1\] must be a numpy.ndarray"),
        ("lone array", P[0], G[0], None, TypeError, "params must be a list or tuple of arrays"),
    ]


@pytest.mark.parametrize("case", [c[0] for c in _bad_inputs()[2]])
@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_raise_and_change_nothing(name, case):
    P, G, cases = _bad_inputs()
    _, params, grads, decays, error, match = next(c for c in cases if c[0] == case)
    opt = make_opt(name)
    opt.apply_gradients(P, G, [0.1, 0.0])  # built
    p_before = [p.copy() for p in P]
    s_before = opt.get_state()
    with pytest.raises(error, match=match):
        opt.apply_gradients(params, grads, decays)
    for p, p0 in zip(P, p_before):
        np.testing.assert_array_equal(p, p0)
    s_after = opt.get_state()
    assert opt.iterations == 1 and sorted(s_after) == sorted(s_before)
    for k in s_before:
        np.testing.assert_array_equal(s_after[k], s_before[k])


@pytest.mark.parametrize("name", NAMES)
def test_first_step_error_leaves_optimizer_unbuilt(name):
    P = [np.ones((2, 2)), np.ones((2, 1))]
    opt = make_opt(name)
    with pytest.raises(ValueError):
        opt.apply_gradients(P, [np.ones((2, 2)), np.ones((1, 2))])
    assert not opt.built and opt.iterations == 0
    np.testing.assert_array_equal(P[0], np.ones((2, 2)))
    opt.apply_gradients([np.ones((3, 3))], [np.ones((3, 3))])  # free to build for other arrays
    assert opt.built and opt.iterations == 1


@pytest.mark.parametrize("name", ["momentum", "rmsprop", "adam"])
def test_state_mismatch_raises_without_reallocating(name):
    opt = make_opt(name)
    P = [np.ones((3, 2)), np.ones((3, 1))]
    opt.apply_gradients(P, [np.ones((3, 2)), np.ones((3, 1))])
    before = opt.get_state()
    slot = SLOTS[name][0]
    with pytest.raises(ValueError, match=rf"state {slot}\[0\] has shape \(3, 2\).*params\[0\] "
                                         r"has shape \(2, 3\)"):
        opt.apply_gradients([np.ones((2, 3)), np.ones((3, 1))],
                            [np.ones((2, 3)), np.ones((3, 1))])
    with pytest.raises(ValueError, match=r"state .*dtype float64 but params\[1\] .*float32"):
        opt.apply_gradients([P[0], np.ones((3, 1), np.float32)],
                            [P[0], np.ones((3, 1), np.float32)])
    with pytest.raises(ValueError, match="built for 2 parameter arrays, got 1"):
        opt.apply_gradients([P[0]], [P[0]])
    with pytest.raises(ValueError, match="built for 2 parameter arrays, got 3"):
        opt.build(P + [np.ones(2)])
    with pytest.raises(ValueError, match=r"params\[1\] has shape \(1, 3\)"):
        opt.build([P[0], np.ones((1, 3))])
    opt.build(P)  # already built for these: nothing happens
    after = opt.get_state()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])
    assert opt.iterations == 1


def test_build_allocates_zero_state_like_the_params():
    opt = Adam()
    W = np.ones((3, 4), dtype=np.float32, order="F")
    assert not opt.built
    opt.build((W,))
    assert opt.built and opt.iterations == 0
    state = opt.get_state()
    for k in ("m/0", "v/0"):
        assert state[k].dtype == np.float32 and state[k].flags.f_contiguous
        assert not state[k].any()
    with pytest.raises(TypeError, match=r"params\[0\] must be a float32 or float64"):
        Adam().build([np.ones(3, dtype=np.int64)])


def test_decays_and_params_accept_tuples_and_arrays():
    P = (np.ones((2, 2)), np.ones((2, 1)))
    G = (np.ones((2, 2)), np.ones((2, 1)))
    GD(0.5).apply_gradients(P, G, decays=np.array([1.0, 0.0]))
    np.testing.assert_array_equal(P[0], np.zeros((2, 2)))
    np.testing.assert_array_equal(P[1], np.full((2, 1), 0.5))
    GD(0.5).apply_gradients(P, G, decays=(np.float32(0.0), 0))
    with pytest.raises(TypeError, match="grads must be a list or tuple"):
        GD().apply_gradients(P, (g for g in G))


# -------------------------------------------------- learning rate and epoch

def test_learning_rate_setter_with_float_and_schedule():
    opt = GD(learning_rate=0.1)
    p = np.zeros(2)
    g = np.ones(2)
    opt.learning_rate = 0.005  # what a LearningRateScheduler callback does
    assert opt.learning_rate == 0.005
    opt.apply_gradients([p], [g])
    np.testing.assert_allclose(p, -0.005)
    opt.learning_rate = InverseTimeDecay(0.1, decay_rate=1.0)
    assert opt.learning_rate == 0.1
    opt.epoch = 3
    assert opt.learning_rate == 0.025
    opt.apply_gradients([p], [g])
    np.testing.assert_allclose(p, -0.005 - 0.025)
    opt.learning_rate = {"class_name": "StepDecay",
                         "config": {"initial_learning_rate": 0.2, "step_size": 2}}
    assert opt.learning_rate == 0.1  # epoch 3: one drop
    for bad, error in [(0.0, ValueError), (float("nan"), ValueError), ("x", TypeError),
                       (None, TypeError)]:
        with pytest.raises(error, match="learning_rate"):
            opt.learning_rate = bad
    assert opt.learning_rate == 0.1  # unchanged by the failed assignments


@pytest.mark.parametrize("name", NAMES)
def test_schedule_changes_the_rate_with_the_epoch(name):
    """Each epoch's step uses schedule(epoch): compare with the reference run
    at the schedule's rate for that epoch."""
    schedule = InverseTimeDecay(0.05, decay_rate=2.0)
    rng = np.random.default_rng(9)
    W = array(rng, (5, 3), np.float64)
    opt = make_opt(name, learning_rate=schedule)
    ref, state = W.copy(), initial_state(name, (5, 3), HYPER[name])
    for epoch in range(4):
        opt.epoch = epoch
        assert opt.learning_rate == 0.05 / (1 + 2.0 * epoch)
        for _ in range(2):
            g = array(rng, (5, 3), np.float64)
            hyper = {**HYPER[name], "learning_rate": 0.05 / (1 + 2.0 * epoch)}
            ref, state = reference_step(name, hyper, ref, g, state, opt.iterations + 1, 0.0)
            opt.apply_gradients([W], [g])
            assert_close(W, ref, np.float64)


def test_bad_schedule_output_and_epoch():
    class Broken(LearningRateSchedule):
        def __call__(self, epoch):
            return float("nan") if epoch > 0 else 0.1

        def get_config(self):
            return {}

    opt = GD(Broken())
    p = np.ones(2)
    opt.apply_gradients([p], [np.ones(2)])
    opt.epoch = 1
    with pytest.raises(ValueError, match="gave nan at epoch 1"):
        opt.apply_gradients([p], [np.ones(2)])
    np.testing.assert_allclose(p, 0.9)
    assert opt.iterations == 1
    with pytest.raises(ValueError, match="epoch must be an int >= 0"):
        opt.epoch = -1
    with pytest.raises(TypeError, match="epoch must be an int"):
        opt.epoch = 1.5
    opt.epoch = np.int64(2)
    assert opt.epoch == 2 and type(opt.epoch) is int


def test_base_class_has_no_update():
    with pytest.raises(NotImplementedError):
        Optimizer().apply_gradients([np.ones(2)], [np.ones(2)])


def test_update_kernel_rejects_unknown_codes():
    from fastdnn._compiled import CODES
    from fastdnn._kernels import _optim

    p, g = [np.zeros(3)], [np.ones(3)]
    with pytest.raises(ValueError, match="optimizer code"):
        _optim.update(len(CODES["optimizer"]), p, g, (), (), None, 0.1)
    _optim.update(CODES["optimizer"]["gd"], p, g, (), (), None, 0.5)
    np.testing.assert_array_equal(p[0], -0.5 * np.ones(3))


@pytest.mark.parametrize("name, slots", [("momentum", 0), ("adam", 1), ("gd", 1), ("rmsprop", 2)])
def test_update_kernel_checks_the_state_it_is_given(name, slots):
    from fastdnn._compiled import CODES
    from fastdnn._kernels import _optim

    p, g = [np.zeros(3)], [np.ones(3)]
    state = tuple([np.zeros(3)] for _ in range(slots))
    with pytest.raises(ValueError, match="state arrays"):
        _optim.update(CODES["optimizer"][name], p, g, state, ("s",) * slots, None, 0.1, 0.9)
    np.testing.assert_array_equal(p[0], np.zeros(3))


# --------------------------------------------------------------- clipping

CLIP_CASES = [{"clipnorm": 1.5}, {"global_clipnorm": 2.0}, {"clipvalue": 0.3},
              {"clipnorm": 1.5, "clipvalue": 0.2}, {"global_clipnorm": 2.0, "clipvalue": 0.25}]


@pytest.mark.parametrize("clip", CLIP_CASES, ids=lambda c: "+".join(c))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_clipping_matches_reference(name, dtype, clip):
    """Every optimizer with each clipping: the reference step on the gradients (with
    their L2 term) clipped by reference.clip_gradients."""
    rng = np.random.default_rng([NAMES.index(name), len(clip)])
    shapes = [(7, 3), (7, 1), (2, 7)]
    decays = [0.2, 0.0, 0.1]
    params = [array(rng, s, dtype, order="F" if i == 2 else "C") for i, s in enumerate(shapes)]
    opt = make_opt(name, **clip)
    ref = [p.astype(np.float64) for p in params]
    state = [initial_state(name, s, HYPER[name]) for s in shapes]
    clipped_steps = 0
    for step in range(6):
        grads = [array(rng, s, dtype, scale=0.1 + 0.4 * step) for s in shapes]
        t = opt.iterations + 1
        opt.apply_gradients(params, grads, decays)
        full = [g.astype(np.float64) + d * r for g, d, r in zip(grads, decays, ref)]
        clipped = reference.clip_gradients(full, **clip)
        clipped_steps += any(not np.array_equal(a, b) for a, b in zip(full, clipped))
        for i, g in enumerate(clipped):
            ref[i], state[i] = reference_step(name, HYPER[name], ref[i], g, state[i], t, 0.0)
        for p, r in zip(params, ref):
            assert_close(p, r, dtype)
    assert 0 < clipped_steps < 6 or "clipvalue" in clip and clipped_steps == 6


def test_clip_gradients_reference():
    g = [np.array([3.0, 4.0]), np.array([0.0, 12.0])]
    np.testing.assert_allclose(reference.clip_gradients(g, clipnorm=5.0)[0], [3.0, 4.0])
    np.testing.assert_allclose(reference.clip_gradients(g, clipnorm=5.0)[1], [0.0, 5.0])
    out = reference.clip_gradients(g, global_clipnorm=6.5)   # the norm is 13
    np.testing.assert_allclose(out[0], [1.5, 2.0])
    np.testing.assert_allclose(out[1], [0.0, 6.0])
    np.testing.assert_allclose(reference.clip_gradients(g, clipvalue=3.5)[0], [3.0, 3.5])


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_clipnorm_is_one_factor_for_all_arrays(dtype):
    """The arrays' joint norm is 13 > 6.5: every gradient is halved, a small one too."""
    W, b = np.zeros((1, 2), dtype), np.zeros((2, 1), dtype)
    GD(1.0, global_clipnorm=6.5).apply_gradients(
        [W, b], [np.array([[3.0, 4.0]], dtype), np.array([[0.0], [12.0]], dtype)])
    np.testing.assert_allclose(W, [[-1.5, -2.0]], rtol=1e-6)
    np.testing.assert_allclose(b, [[0.0], [-6.0]], rtol=1e-6)
    W[...], b[...] = 0, 0
    GD(1.0, clipnorm=6.5).apply_gradients(   # each array alone: only b's norm (12) is above
        [W, b], [np.array([[3.0, 4.0]], dtype), np.array([[0.0], [12.0]], dtype)])
    np.testing.assert_allclose(W, [[-3.0, -4.0]], rtol=1e-6)
    np.testing.assert_allclose(b, [[0.0], [-6.5]], rtol=1e-6)


@pytest.mark.parametrize("clip", [{"clipnorm": 1.0}, {"global_clipnorm": 1.0}])
def test_non_finite_norms(clip):
    """A NaN gradient entry makes its norm NaN: every entry it scales becomes NaN. An
    infinite entry makes the norm infinite: the factor is 0, so the other entries do
    not move and the infinite one gives NaN (inf * 0)."""
    p = [np.zeros(3), np.zeros(2)]
    GD(0.1, **clip).apply_gradients(p, [np.array([1.0, np.nan, 2.0]), np.ones(2)])
    assert np.isnan(p[0]).all()
    assert np.isnan(p[1]).all() == ("global_clipnorm" in clip)
    p = [np.zeros(3), np.zeros(2)]
    GD(0.1, **clip).apply_gradients(p, [np.array([1.0, np.inf, 2.0]), np.ones(2)])
    assert p[0][0] == 0 and np.isnan(p[0][1]) and p[0][2] == 0
    if "clipnorm" in clip:
        np.testing.assert_allclose(p[1], -0.1 / np.sqrt(2))
    else:
        np.testing.assert_array_equal(p[1], 0.0)


def test_clipvalue_keeps_nan():
    p = np.zeros(3)
    SGD(1.0, clipvalue=0.5).apply_gradients([p], [np.array([np.nan, -3.0, 0.25])])
    assert np.isnan(p[0]) and p[1] == 0.5 and p[2] == -0.25


@pytest.mark.parametrize("name", NAMES)
def test_clipping_in_config(name):
    opt = make_opt(name, clipnorm=0.5, clipvalue=2.0)
    config = opt.get_config()
    assert config["clipnorm"] == 0.5 and config["clipvalue"] == 2.0
    assert "global_clipnorm" not in config
    clone = optimizers.get(optimizers.serialize(opt))
    assert (clone.clipnorm, clone.global_clipnorm, clone.clipvalue) == (0.5, None, 2.0)
    assert clone.get_config() == config
    g = make_opt(name, global_clipnorm=3)
    assert g.get_config()["global_clipnorm"] == 3.0 and g.compiled_spec().global_clipnorm == 3.0
    assert repr(g).endswith("global_clipnorm=3.0)")
    assert make_opt(name).compiled_spec().clipnorm == 0.0


@pytest.mark.parametrize("cls", [GD, SGD, Momentum, RMSprop, Adam, AdamW, Nadam, Adagrad, Adamax])
@pytest.mark.parametrize("kwargs, error, match", [
    ({"clipnorm": 1.0, "global_clipnorm": 1.0}, ValueError,
     "only one of clipnorm and global_clipnorm"),
    ({"clipnorm": 0.0}, ValueError, "clipnorm must be a finite number > 0 or None, got 0.0"),
    ({"clipnorm": -1.0}, ValueError, "clipnorm must be a finite number > 0"),
    ({"global_clipnorm": float("inf")}, ValueError, "global_clipnorm must be a finite number"),
    ({"clipvalue": float("nan")}, ValueError, "clipvalue must be a finite number > 0"),
    ({"clipvalue": "1"}, TypeError, "clipvalue must be a real number"),
    ({"clipnorm": True}, TypeError, "clipnorm must be a real number"),
])
def test_bad_clipping(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**kwargs)


def test_update_kernel_checks_clipping():
    from fastdnn._compiled import CODES
    from fastdnn._kernels import _optim

    p = [np.zeros(3)]
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="clipvalue must be a finite number >= 0"):
            _optim.update(CODES["optimizer"]["gd"], p, [np.ones(3)], (), (), None, 0.1,
                          clipvalue=bad)
    np.testing.assert_array_equal(p[0], 0.0)
    assert _optim.nadam_mu_product(0.9, 0.004, 3) == pytest.approx(
        np.prod([reference.nadam_mu(s, 0.9, 0.004) for s in (1, 2, 3)]), rel=1e-15)
    assert _optim.nadam_mu_product(0.9, 0.004, 3, 5, 0.123) == _optim.nadam_mu_product(
        0.9, 0.004, 3)   # a known product past t is not used
    with pytest.raises(ValueError, match="t and known_t must be >= 0"):
        _optim.nadam_mu_product(0.9, 0.004, -1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_a_long_update_is_the_same_on_any_thread_count(name, dtype):
    """A long parameter array's update is shared out over the threads in chunks: the
    same bits on 1, 2 and 3 threads (a NaN gradient staying in its element), and the
    reference's values."""
    import fastdnn

    rng = np.random.default_rng(NAMES.index(name))
    W0 = array(rng, (100_003,), dtype)
    grads = [[array(rng, W0.shape, dtype, scale=0.5 + step)] for step in range(3)]
    grads[1][0][77_777] = np.nan
    results = []
    try:
        for threads in (1, 2, 3):
            fastdnn.set_num_threads(threads)
            run = Run(name, [W0.copy()], decays=[0.03])
            for g in grads:
                run.step(g)
            results.append((run.params[0], run.opt.get_state()))
    finally:
        fastdnn.set_num_threads(None)
    for W, state in results[1:]:
        np.testing.assert_array_equal(W, results[0][0])
        for key, value in state.items():
            np.testing.assert_array_equal(value, results[0][1][key])
    W = results[0][0]
    assert np.isnan(W[77_777]) and np.isfinite(np.delete(W, 77_777)).all()
    ok = np.ones(W.shape, bool)
    ok[77_777] = False
    assert_close(W[ok], run.ref[0][ok], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_adam_step_at_the_edges_of_its_quotient(simd, cls, dtype):
    """m / (sqrt(v) + eps) as the division gives it where the AVX-512 path estimates the
    quotient: a zero gradient, a gradient whose square overflows (v = inf: no step) or
    underflows (v = 0), a NaN gradient, and ordinary values, in a block and a tail."""
    big = np.finfo(dtype).max ** 0.5 * 64         # 0.001 times its square overflows
    g = np.array([0.0, big, np.nan, 1e-3, -2.0, 0.5, 3e-30, 7.0] * 3 + [1.0], dtype)
    kw = {"weight_decay": 0.0} if cls is AdamW else {}
    eps = 1e-7
    p = np.linspace(-1, 1, g.size).astype(dtype)
    p0 = p.astype(np.float64)
    cls(learning_rate=0.1, epsilon=eps, **kw).apply_gradients([p], [g.copy()])
    g64 = g.astype(np.float64)
    m, v = 0.1 * g64, (0.001 * g64 * g64).astype(dtype).astype(np.float64)
    with np.errstate(all="ignore"):
        expected = p0 - 0.1 * (m / 0.1) / (np.sqrt(v / 0.001) + eps)
    np.testing.assert_array_equal(np.isnan(p), np.isnan(expected))
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(p[ok], expected[ok], rtol=4 * np.finfo(dtype).eps,
                               atol=4 * np.finfo(dtype).eps)
    assert p[1] == dtype(p0[1])                   # v = inf: no step
    assert p[0] == dtype(p0[0])                   # a zero gradient: no step


@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_adam_step_on_a_subnormal_second_moment(simd, cls):
    """float64: a gradient of 1e-160 makes v subnormal; with a tiny epsilon the step is
    still about the learning rate (the AVX-512 path's square root estimate overflows
    there and takes the square root itself)."""
    kw = {"weight_decay": 0.0} if cls is AdamW else {}
    g = np.array([1e-160, -3e-161, 1e-155, 2.0] * 5, np.float64)
    p = np.zeros_like(g)
    cls(learning_rate=0.1, epsilon=1e-300, **kw).apply_gradients([p], [g.copy()])
    v = 0.001 * g * g
    expected = -0.1 * g / (np.sqrt(v / 0.001) + 1e-300)
    assert np.all(np.abs(v[:2]) < np.finfo(np.float64).tiny)     # subnormal second moments
    np.testing.assert_allclose(p, expected, rtol=1e-13)
