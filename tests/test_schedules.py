"""Learning-rate schedules against their formulas."""
import json
import math

import numpy as np
import pytest

import fastdnn.schedules as schedules
from fastdnn.optimizers import GD
from fastdnn.schedules import (ExponentialDecay, InverseTimeDecay, LearningRateSchedule,
                               StepDecay)

EPOCHS = range(0, 31)


@pytest.mark.parametrize("a0, rate, steps", [(0.1, 1.0, 1), (0.2, 0.5, 1), (0.01, 3.0, 4),
                                             (0.5, 0.0, 1), (0.3, 0.25, 2.5)])
def test_inverse_time_decay(a0, rate, steps):
    s = InverseTimeDecay(a0, rate, decay_steps=steps)
    for e in EPOCHS:
        assert s(e) == pytest.approx(a0 / (1 + rate * e / steps), rel=1e-15)
    stair = InverseTimeDecay(a0, rate, decay_steps=steps, staircase=True)
    for e in EPOCHS:
        assert stair(e) == pytest.approx(a0 / (1 + rate * math.floor(e / steps)), rel=1e-15)


def test_inverse_time_decay_is_the_lecture_formula():
    """alpha = alpha0 / (1 + decay_rate * epoch_num), epoch_num from 0."""
    s = InverseTimeDecay(0.2, decay_rate=1.0)
    assert [s(e) for e in range(4)] == [0.2, 0.1, 0.2 / 3, 0.05]


def test_staircase_changes_only_every_decay_steps():
    s = InverseTimeDecay(1.0, 1.0, decay_steps=3, staircase=True)
    assert [s(e) for e in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 1 / 3]
    e = ExponentialDecay(1.0, 0.5, decay_steps=2, staircase=True)
    assert [e(k) for k in range(6)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    smooth = ExponentialDecay(1.0, 0.5, decay_steps=2)
    assert smooth(1) == pytest.approx(0.5 ** 0.5, rel=1e-15)


@pytest.mark.parametrize("a0, rate, steps", [(0.1, 0.5, 1), (0.05, 0.96, 3), (1.0, 1.0, 1),
                                             (0.2, 0.1, 0.5)])
def test_exponential_decay(a0, rate, steps):
    s = ExponentialDecay(a0, rate, decay_steps=steps)
    stair = ExponentialDecay(a0, rate, decay_steps=steps, staircase=True)
    for e in EPOCHS:
        assert s(e) == pytest.approx(a0 * rate ** (e / steps), rel=1e-14)
        assert stair(e) == pytest.approx(a0 * rate ** math.floor(e / steps), rel=1e-14)


@pytest.mark.parametrize("a0, drop, size", [(0.1, 0.5, 10), (0.3, 0.1, 1), (0.01, 1.0, 5),
                                            (0.2, 0.9, 2.5)])
def test_step_decay(a0, drop, size):
    s = StepDecay(a0, drop=drop, step_size=size)
    for e in EPOCHS:
        assert s(e) == pytest.approx(a0 * drop ** math.floor(e / size), rel=1e-15)


def test_step_decay_defaults():
    s = StepDecay(0.1)
    assert [s(e) for e in (0, 9, 10, 19, 20)] == [0.1, 0.1, 0.05, 0.05, 0.025]


def test_rates_are_python_floats_and_decrease():
    for s in (InverseTimeDecay(0.1, 0.5), ExponentialDecay(0.1, 0.9), StepDecay(0.1, 0.5, 3)):
        rates = [s(e) for e in range(40)]
        assert all(type(r) is float for r in rates)
        assert all(b <= a for a, b in zip(rates, rates[1:]))
        assert s(np.int64(3)) == s(3)
    assert ExponentialDecay(0.1, 0.5)(10_000) == 0.0  # underflows quietly, no OverflowError


@pytest.mark.parametrize("make, error, match", [
    (lambda: InverseTimeDecay(0.0, 1.0), ValueError, "initial_learning_rate must be a finite"),
    (lambda: InverseTimeDecay(float("inf"), 1.0), ValueError, "initial_learning_rate"),
    (lambda: InverseTimeDecay("0.1", 1.0), TypeError, "initial_learning_rate must be a real"),
    (lambda: InverseTimeDecay(0.1, -1.0), ValueError, "decay_rate must be a finite number >= 0"),
    (lambda: InverseTimeDecay(0.1, float("nan")), ValueError, "decay_rate"),
    (lambda: InverseTimeDecay(0.1, 1.0, decay_steps=0), ValueError, "decay_steps must be"),
    (lambda: InverseTimeDecay(0.1, 1.0, staircase=1), TypeError, "staircase must be a bool"),
    (lambda: ExponentialDecay(0.1, 0.0), ValueError, r"decay_rate must be a finite number in \(0, 1\]"),
    (lambda: ExponentialDecay(0.1, 1.5), ValueError, "decay_rate must be a finite number in"),
    (lambda: ExponentialDecay(0.1, 0.5, decay_steps=-2), ValueError, "decay_steps"),
    (lambda: ExponentialDecay(-0.1, 0.5), ValueError, "initial_learning_rate"),
    (lambda: StepDecay(0.1, drop=0.0), ValueError, r"drop must be a finite number in \(0, 1\]"),
    (lambda: StepDecay(0.1, drop=2.0), ValueError, "drop"),
    (lambda: StepDecay(0.1, step_size=0), ValueError, "step_size must be a finite number > 0"),
    (lambda: StepDecay(0.1, step_size=None), TypeError, "step_size must be a real number"),
    (lambda: StepDecay(True), TypeError, "initial_learning_rate"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("epoch, error", [(-1, ValueError), (1.0, TypeError), ("1", TypeError),
                                          (True, TypeError)])
def test_bad_epoch(epoch, error):
    with pytest.raises(error, match="epoch"):
        InverseTimeDecay(0.1, 1.0)(epoch)


@pytest.mark.parametrize("schedule", [InverseTimeDecay(0.1, 0.5, 2, True),
                                      ExponentialDecay(0.2, 0.9, 3, False),
                                      StepDecay(0.3, 0.25, 4)])
def test_config_round_trip(schedule):
    config = schedule.get_config()
    clone = type(schedule).from_config(config)
    assert clone == schedule and clone is not schedule
    assert [clone(e) for e in EPOCHS] == [schedule(e) for e in EPOCHS]
    data = json.loads(json.dumps(schedules.serialize(schedule)))
    again = schedules.get(data)
    assert type(again) is type(schedule) and again.get_config() == config
    lower = schedules.get({"class_name": type(schedule).__name__.lower(), "config": config})
    assert lower == schedule
    assert repr(schedule).startswith(type(schedule).__name__ + "(initial_learning_rate=")


def test_registry():
    s = StepDecay(0.1)
    assert schedules.get(s) is s
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'Cosine'; known: "
                                         "InverseTimeDecay, ExponentialDecay, StepDecay"):
        schedules.get({"class_name": "Cosine", "config": {}})
    with pytest.raises(ValueError, match="class_name"):
        schedules.get({"config": {}})
    with pytest.raises(TypeError, match="identifier must be"):
        schedules.get("StepDecay")
    with pytest.raises(TypeError, match="schedule must be a LearningRateSchedule"):
        schedules.serialize(0.1)
    with pytest.raises(TypeError, match="config must be a dict"):
        StepDecay.from_config([0.1])


def test_in_an_optimizer_the_rate_follows_the_epoch():
    opt = GD(learning_rate=StepDecay(0.4, drop=0.5, step_size=2))
    p = np.zeros(3)
    g = np.ones(3)
    total = 0.0
    for epoch in range(6):
        opt.epoch = epoch
        assert opt.learning_rate == 0.4 * 0.5 ** (epoch // 2)
        opt.apply_gradients([p], [g])
        total += 0.4 * 0.5 ** (epoch // 2)
        np.testing.assert_allclose(p, -total, rtol=1e-15)


def test_custom_schedule_subclass():
    class Constant(LearningRateSchedule):
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate

        def get_config(self):
            return {"rate": self.rate}

    c = Constant.from_config({"rate": 0.3})
    assert c(5) == 0.3 and GD(c).learning_rate == 0.3
