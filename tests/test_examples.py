"""The lecture's figures in examples/: each script runs (quick mode), writes its PNGs
and measures what its figure claims."""
import importlib.util
import math
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
if not EXAMPLES.is_dir():   # tests copied without the repository's examples/
    pytest.skip(f"the example scripts are not next to the tests ({EXAMPLES})",
                allow_module_level=True)


def run_example(name, tmp_path):
    spec = importlib.util.spec_from_file_location(f"fastdnn_example_{name}",
                                                  EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--quick", "--out", str(tmp_path)])
    assert result["figures"]
    for path in result["figures"]:
        path = Path(path)
        assert path.parent == tmp_path
        assert path.suffix == ".png"
        data = path.read_bytes()
        assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"
    return result


def test_optimizers(tmp_path, capsys):
    r = run_example("optimizers", tmp_path)
    assert "Final training cost" in capsys.readouterr().out
    assert r["same_initial_weights"]
    final = r["final_loss"]
    assert set(final) == {"GD", "Momentum", "RMSprop", "Adam"}
    assert all(len(v) == r["epochs"] for v in r["loss"].values())
    # the lecture: Adam converges much faster than GD and Momentum at alpha = 0.001
    assert final["Adam"] < 0.5 * final["GD"]
    assert final["Adam"] < 0.5 * final["Momentum"]
    # every optimizer lowers the cost
    assert all(v[-1] < v[0] for v in r["loss"].values())


def test_minibatch(tmp_path):
    r = run_example("minibatch", tmp_path)
    m, epochs = r["m"], r["epochs"]
    steps = r["steps_per_epoch"]
    assert sorted(steps.values()) == [1, math.ceil(m / 64), m]
    # history.batch_loss has one cost per step
    assert all(r["n_batch_losses"][k] == epochs * steps[k] for k in steps)
    # noisy but trending down
    assert r["minibatch_last_epoch_mean"] < r["minibatch_first_epoch_mean"]
    assert r["batch_loss_noise"]["minibatch"] > 0
    # at the same learning rate, more steps per epoch: lower cost after the same epochs
    final = r["final_cost"]
    assert final["stochastic"] < final["minibatch"] < final["batch"]


def test_initialization(tmp_path):
    r = run_example("initialization", tmp_path)
    up, down = r["linear"][1.5], r["linear"][0.5]
    assert up["ratio_L"] == pytest.approx(1.5 ** 30, rel=0.01)
    assert down["ratio_L"] == pytest.approx(0.5 ** 30, rel=0.01)
    assert max(up["max_rel_error"], down["max_rel_error"]) < 1e-10
    # per-layer factor of the activations' spread: 1 (He), 1/sqrt(2) (Xavier), 0.01*sqrt(32)
    factor = r["std_factor_per_layer"]
    assert factor["he"] == pytest.approx(1.0, abs=0.1)
    assert factor["xavier"] == pytest.approx(math.sqrt(0.5), abs=0.05)
    assert factor["random_normal_0.01"] == pytest.approx(0.01 * math.sqrt(32), rel=0.1)
    assert r["std"]["random_normal_0.01"][-1] < 1e-12 < 0.1 < r["std"]["he"][-1]
    # He trains; randn * 0.01 stalls at the uniform guess, ln 10
    final = r["final_loss"]
    assert final["he"] < 1.0 < final["random_normal_0.01"]
    assert final["random_normal_0.01"] == pytest.approx(math.log(10), abs=0.01)


def test_regression(tmp_path):
    r = run_example("regression", tmp_path)
    lr = r["learning_rate"]
    assert r["learning_rate_max_rel_error"] < 1e-12
    assert lr[0] == pytest.approx(0.01) and lr[1] == pytest.approx(0.01 / 1.05)
    assert all(a > b for a, b in zip(lr, lr[1:]))
    # the normalizer learned the training inputs' mean and variance (x uniform in [0, 2 pi])
    assert r["normalizer_mean"] == pytest.approx(math.pi, rel=0.1)
    assert r["normalizer_variance"] == pytest.approx((2 * math.pi) ** 2 / 12, rel=0.15)
    # the noise variance is 0.01: the fit gets close to it and to the noiseless sin(x)
    assert r["val_mse"] < 0.02
    assert r["fit_mse_to_sin"] < 0.01
    assert r["final_loss"] < 0.01        # half squared error on the training set
