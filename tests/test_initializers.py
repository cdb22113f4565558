"""Tests of the weight initializers and their registry, ``fastdnn.initializers.get``."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from fastdnn import activations
from fastdnn import initializers as I

pytestmark = pytest.mark.filterwarnings("error")

DTYPES = [np.float32, np.float64]
SHAPE = (512, 1024)  # (n_l, n_prev): fan_in = 1024, fan_out = 512
FAN_IN, FAN_OUT = 1024, 512

# name -> expected standard deviation of a plain normal draw of SHAPE
NORMAL_STD = {
    "he_normal": math.sqrt(2 / FAN_IN),
    "xavier_normal": math.sqrt(1 / FAN_IN),
    "glorot_normal": math.sqrt(2 / (FAN_IN + FAN_OUT)),
    "random_normal": 0.01,
}
# name -> (low, high) of a uniform draw of SHAPE
UNIFORM_BOUNDS = {
    "he_uniform": (-math.sqrt(6 / FAN_IN), math.sqrt(6 / FAN_IN)),
    "glorot_uniform": (-math.sqrt(6 / (FAN_IN + FAN_OUT)), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "random_uniform": (-0.05, 0.05),
}
CLASSES = {
    "he_normal": I.HeNormal, "he_uniform": I.HeUniform, "xavier_normal": I.XavierNormal,
    "glorot_uniform": I.GlorotUniform, "glorot_normal": I.GlorotNormal,
    "random_normal": I.RandomNormal, "random_uniform": I.RandomUniform, "zeros": I.Zeros,
    "ones": I.Ones, "constant": I.Constant, "variance_scaling": I.VarianceScaling,
}
RANDOM = sorted(set(NORMAL_STD) | set(UNIFORM_BOUNDS) | {"variance_scaling"})


# ------------------------------------------------------------ statistics

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(NORMAL_STD))
def test_normal_statistics_follow_the_formula(name, dtype):
    W = I.get(name)(SHAPE, dtype=dtype, rng=0)
    assert W.shape == SHAPE and W.dtype == dtype
    std = NORMAL_STD[name]
    w = W.astype(np.float64)
    # standard error of the mean is std / sqrt(N) ~ 0.0014 std: 0.01 std is 7 of them
    assert abs(w.mean()) < 0.01 * std
    assert w.std() == pytest.approx(std, rel=0.02)


@pytest.mark.parametrize("dtype", DTYPES)
def test_he_normal_is_the_lectures_plain_normal_not_truncated(dtype):
    W = I.HeNormal()(SHAPE, dtype=dtype, rng=1).astype(np.float64) / NORMAL_STD["he_normal"]
    # 524288 standard normals: ~33 expected beyond 4 sigma; a 2-sigma truncation has none
    assert np.abs(W).max() > 4
    assert np.mean(np.abs(W) > 2) == pytest.approx(0.0455, rel=0.05)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lecture_formula_randn_times_sqrt_2_over_n_prev(dtype):
    """Same generator, same draws: he_normal == randn(shape) * sqrt(2 / n_prev)."""
    W = I.HeNormal()((3, 7), dtype=dtype, rng=np.random.default_rng(5))
    expected = np.random.default_rng(5).standard_normal((3, 7), dtype=dtype)
    expected *= dtype(math.sqrt(2 / 7))
    np.testing.assert_array_equal(W, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(UNIFORM_BOUNDS))
def test_uniform_bounds_respected_and_reached(name, dtype):
    lo, hi = UNIFORM_BOUNDS[name]
    W = I.get(name)(SHAPE, dtype=dtype, rng=2)
    assert W.dtype == dtype
    assert W.min() >= dtype(lo) and W.max() <= dtype(hi)
    width = hi - lo
    # 524288 draws: none in the top/bottom 0.1% has probability ~exp(-524)
    assert W.max() > hi - 1e-3 * width and W.min() < lo + 1e-3 * width
    w = W.astype(np.float64)
    assert w.std() == pytest.approx(width / math.sqrt(12), rel=0.02)
    assert abs(w.mean() - (lo + hi) / 2) < 0.01 * width


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_uniform_asymmetric_and_tight_bounds(dtype):
    W = I.RandomUniform(0.1, 0.3)((1000, 100), dtype=dtype, rng=3)
    assert W.min() >= dtype(0.1) and W.max() <= dtype(0.3)
    W = I.RandomUniform(1.0, 1.0)((10,), dtype=dtype, rng=3)
    np.testing.assert_array_equal(W, np.ones(10, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_normal_mean_and_stddev(dtype):
    W = I.RandomNormal(stddev=0.5, mean=3.0)((400, 500), dtype=dtype, rng=4).astype(np.float64)
    assert W.mean() == pytest.approx(3.0, abs=0.005)
    assert W.std() == pytest.approx(0.5, rel=0.01)


def test_random_normal_defaults_to_the_lectures_0_01():
    init = I.random_normal()
    assert init.stddev == 0.01 and init.mean == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_constant_initializers(dtype):
    np.testing.assert_array_equal(I.Zeros()((3, 1), dtype), np.zeros((3, 1), dtype))
    np.testing.assert_array_equal(I.Ones()((2, 2), dtype), np.ones((2, 2), dtype))
    np.testing.assert_array_equal(I.Constant(0.25)(4, dtype), np.full(4, 0.25, dtype))
    assert I.zeros()((2,), dtype).dtype == dtype


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0,)])
def test_empty_shapes(name, shape):
    W = I.get(name)(shape, dtype=np.float64, rng=0)
    assert W.shape == shape and W.dtype == np.float64


def test_default_dtype_is_float32_and_int_shape():
    W = I.get("glorot_uniform")(6, rng=0)
    assert W.shape == (6,) and W.dtype == np.float32
    assert I.get("he_normal")([2, 3], rng=0).shape == (2, 3)


# ------------------------------------------------------------ fans

@pytest.mark.parametrize("shape, fans", [
    ((3, 5), (5, 3)), ([4, 2], (2, 4)), ((7, 1), (1, 7)), ((7,), (1, 7)), (7, (1, 7)),
    ((), (1, 1)), ((4, 3, 2, 2), (12, 16)), ((0, 5), (5, 0)),
])
def test_fan_in_and_fan_out(shape, fans):
    assert I.fan_in_and_fan_out(shape) == fans


def test_bias_shape_uses_fan_in_one():
    b = I.HeNormal()((20000, 1), dtype=np.float64, rng=0)
    assert b.std() == pytest.approx(math.sqrt(2), rel=0.03)


# ------------------------------------------------------------ seeds

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", RANDOM)
def test_same_seed_same_arrays_different_seeds_differ(name, dtype):
    cls = CLASSES[name]
    a = cls(seed=7)((30, 40), dtype)
    b = cls(seed=7)((30, 40), dtype)
    c = cls(seed=8)((30, 40), dtype)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_seeded_instance_replays_its_sequence():
    init = I.HeNormal(seed=1)
    first, second = init((5, 5)), init((5, 5))
    assert not np.array_equal(first, second)  # two layers sharing it get different weights
    again = I.HeNormal(seed=1)
    np.testing.assert_array_equal(again((5, 5)), first)
    np.testing.assert_array_equal(again((5, 5)), second)


def test_rng_at_call_time_wins_over_constructor_seed():
    a = I.GlorotUniform(seed=1)((4, 6), rng=5)
    b = I.GlorotUniform(seed=2)((4, 6), rng=5)
    c = I.GlorotUniform()((4, 6), rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, I.GlorotUniform(seed=1)((4, 6)))


def test_generator_is_advanced():
    gen = np.random.default_rng(0)
    a = I.HeNormal()((3, 3), rng=gen)
    b = I.HeNormal()((3, 3), rng=gen)
    assert not np.array_equal(a, b)


def test_unseeded_calls_differ():
    assert not np.array_equal(I.HeNormal()((10, 10)), I.HeNormal()((10, 10)))


def test_seed_reproducible_across_processes():
    code = ("import numpy as np; from fastdnn import initializers as I; "
            "print(repr(I.HeUniform(seed=11)((3, 4), np.float64).tolist()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == repr(I.HeUniform(seed=11)((3, 4), np.float64).tolist())


# ------------------------------------------------------------ registry

@pytest.mark.parametrize("name", sorted(CLASSES))
def test_get_by_name_and_config_round_trip(name):
    init = I.get(name)
    assert type(init) is CLASSES[name] and init.name == name
    config = init.get_config()
    assert json.loads(json.dumps(config)) == config
    assert I.get(config) == init
    assert CLASSES[name].from_config(config) == init
    assert I.get({"class_name": CLASSES[name].__name__,
                  "config": {k: v for k, v in config.items() if k != "name"}}) == init
    serialized = I.serialize(init)
    assert serialized["class_name"] == CLASSES[name].__name__
    assert I.get(json.loads(json.dumps(serialized))) == init


def test_serialize_keeps_parameters_and_rejects_plain_callables():
    init = I.RandomUniform(-1.0, 2.0, seed=3)
    assert I.get(I.serialize(init)) == init
    assert I.serialize(init) == {"class_name": "RandomUniform",
                                 "config": {"minval": -1.0, "maxval": 2.0, "seed": 3}}
    with pytest.raises(TypeError, match="plain callable"):
        I.serialize(lambda shape, dtype, rng: np.zeros(shape, dtype))


@pytest.mark.parametrize("alias, name", [
    ("he", "he_normal"), ("xavier", "xavier_normal"), ("xavier_uniform", "glorot_uniform"),
    ("glorot_normal", "glorot_normal"), ("HE_NORMAL", "he_normal"), ("HeNormal", "he_normal"),
    (" zeros ", "zeros"),
])
def test_aliases(alias, name):
    assert type(I.get(alias)) is CLASSES[name]


def test_lower_case_names_are_the_classes():
    assert I.he_normal is I.HeNormal and I.constant is I.Constant
    assert I.get(I.he_normal) == I.HeNormal()
    assert I.constant(0.5)((1,), np.float64)[0] == 0.5
    assert I.random_normal(stddev=0.1).stddev == 0.1


def test_get_returns_instances_and_callables_as_is():
    init = I.RandomNormal(0.2, seed=3)
    assert I.get(init) is init

    def f(shape, dtype, rng):
        return np.full(shape, 2.0, dtype)

    assert I.get(f) is f


def test_configs_keep_parameters():
    init = I.get({"name": "random_uniform", "minval": -1.0, "maxval": 2.0, "seed": 4})
    assert (init.minval, init.maxval, init.seed) == (-1.0, 2.0, 4)
    vs = I.get({"class_name": "VarianceScaling",
                "config": {"scale": 3.0, "mode": "fan_avg", "distribution": "uniform"}})
    assert (vs.scale, vs.mode, vs.distribution) == (3.0, "fan_avg", "uniform")
    assert repr(I.Constant(2)) == "Constant(value=2.0)"


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="unknown initializer 'lecun'.*he_normal.*xavier_normal"):
        I.get("lecun")


@pytest.mark.parametrize("bad, exc", [
    (None, TypeError), (3, TypeError), ({"stddev": 1.0}, ValueError),
    ({"name": "he_normal", "stddev": 1.0}, ValueError),
    ({"class_name": "Nope", "config": {}}, ValueError),
])
def test_get_rejects(bad, exc):
    with pytest.raises(exc):
        I.get(bad)


def test_from_config_checks_the_name():
    with pytest.raises(ValueError, match="he_normal"):
        I.GlorotUniform.from_config({"name": "he_normal"})


@pytest.mark.parametrize("activation, name", [
    ("relu", "he_normal"), ("leaky_relu", "he_normal"), ("tanh", "xavier_normal"),
    ("sigmoid", "xavier_normal"), ("linear", "xavier_normal"), ("softmax", "xavier_normal"),
    (None, "xavier_normal"), (activations.LeakyReLU(0.2), "he_normal"),
])
def test_default_for(activation, name):
    assert I.default_for(activation) == name
    assert I.get(I.default_for(activation)).name == name


def test_default_for_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation"):
        I.default_for("bent_identity")


# ------------------------------------------------------------ errors

@pytest.mark.parametrize("dtype", [np.int32, np.float16, "complex128", object, "bogus"])
def test_bad_dtype_is_a_type_error(dtype):
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        I.HeNormal()((2, 2), dtype=dtype)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        I.Zeros()((2, 2), dtype=dtype)


@pytest.mark.parametrize("shape, exc", [
    ((2, -1), ValueError), (-3, ValueError), ((2.0, 3), TypeError), ("3", TypeError),
    ((True, 2), TypeError), (None, TypeError),
])
def test_bad_shape(shape, exc):
    with pytest.raises(exc, match="shape"):
        I.GlorotUniform()(shape)


@pytest.mark.parametrize("rng, exc", [(-1, ValueError), (1.5, TypeError), ("0", TypeError),
                                      (np.random.RandomState(0), TypeError)])
def test_bad_rng(rng, exc):
    with pytest.raises(exc, match="rng"):
        I.HeNormal()((2, 2), rng=rng)
    with pytest.raises(exc, match="rng"):
        I.Zeros()((2, 2), rng=rng)


@pytest.mark.parametrize("make, exc, match", [
    (lambda: I.HeNormal(seed=-1), ValueError, "seed"),
    (lambda: I.HeNormal(seed=1.0), TypeError, "seed"),
    (lambda: I.RandomNormal(stddev=-0.1), ValueError, "stddev"),
    (lambda: I.RandomNormal(stddev="0.1"), TypeError, "stddev"),
    (lambda: I.RandomNormal(mean=float("nan")), ValueError, "mean"),
    (lambda: I.RandomUniform(1.0, -1.0), ValueError, "minval must be <= maxval"),
    (lambda: I.Constant(float("inf")), ValueError, "value"),
    (lambda: I.VarianceScaling(mode="fan"), ValueError, "mode"),
    (lambda: I.VarianceScaling(distribution="truncated"), ValueError, "distribution"),
    (lambda: I.VarianceScaling(scale=0.0), ValueError, "scale"),
])
def test_bad_constructor_arguments(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
