"""The benchmark harness (bench/): every section runs in smoke mode with its checks
passing, and ``--check`` fails on a missed target or a wrong result."""
from __future__ import annotations

import ast
import importlib.util
import json
import math
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
if not (BENCH / "run.py").is_file():
    pytest.skip("bench/ is not present (e.g. tests run against an installed wheel)",
                allow_module_level=True)


def _section_names() -> tuple[str, ...]:
    """``SECTIONS`` of bench/sections/__init__.py, read without importing it."""
    tree = ast.parse((BENCH / "sections" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else \
            node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and target.id == "SECTIONS":
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("bench/sections/__init__.py defines no SECTIONS")


SECTIONS = _section_names()


@pytest.fixture(scope="module")
def run():
    """bench/run.py as a module (it puts bench/ on sys.path for its own modules)."""
    saved = list(sys.path)
    spec = importlib.util.spec_from_file_location("fastdnn_bench_run", BENCH / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path[:] = saved


@pytest.fixture(scope="module")
def targets(run):
    return sys.modules["targets"]


# ------------------------------------------------------------- smoke runs

@pytest.mark.parametrize("section", SECTIONS)
def test_section_smoke(section, tmp_path):
    out = tmp_path / "out.json"
    env = {**os.environ, "FASTDNN_BENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--smoke", "--check", "--json", str(out),
         "--sections", section],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    meta = json.loads(out.read_text(encoding="utf-8"))
    assert meta["failures"] == []
    records = [r for r in meta["results"] + meta["measurements"] if r["section"] == section]
    assert records, f"no measurements of {section}"
    assert {r["section"] for r in meta["results"] + meta["measurements"]} == {section}
    if section == "gemm":        # each product says whether the team backed off meanwhile
        products = [r for r in records if r.get("table") == "products"]
        assert products and all(isinstance(r["params"]["team_backoffs"], int)
                                and r["params"]["team_backoffs"] >= 0 for r in products)


# --------------------------------------------------------- target evaluation

def _ratio(name: str, label: str, value: float, n: int = 8) -> dict:
    return {"section": "s", "name": name, "dtype": "float32", "n": n, "label": label,
            "numerator": "other", "denominator": "fastdnn", "value": value}


def _meta(ratios=(), results=(), measurements=(), anchors=None) -> dict:
    meta = {"args": {}, "results": list(results), "ratios": list(ratios),
            "measurements": list(measurements), "failures": []}
    if anchors is not None:
        meta["anchors"] = anchors
    return meta


@pytest.mark.parametrize("op, bound, value, met", [
    (">=", 2.0, 2.5, True), (">=", 2.0, 2.0, True), (">=", 2.0, 1.9, False),
    ("<=", 1.05, 1.0, True), ("<=", 1.05, 1.05, True), ("<=", 1.05, 1.2, False),
    (">=", 2.0, math.nan, False), ("<=", 1.05, math.nan, False)])
def test_target_bound(targets, op, bound, value, met):
    t = targets.Target("s", "case", "other/fastdnn", op, bound, "target: a bound")
    (o,) = targets.evaluate(_meta([_ratio("case", "other/fastdnn", value)]), [t], mode="full")
    assert o.status == (targets.PASS if met else targets.MISS)
    assert o.failed is not met
    assert len(targets.failures([o])) == (0 if met else 1)


def test_one_target_met_one_missed(targets, run):
    at_least = targets.Target("s", "a", "numpy/fastdnn", ">=", 2.0, "target: >= 2x NumPy")
    at_most = targets.Target("s", "b", "fastdnn/gemm", "<=", 1.05, "target: <= 1.05x its GEMMs")
    meta = _meta([_ratio("a", "numpy/fastdnn", 3.0), _ratio("b", "fastdnn/gemm", 1.3)])
    ok, missed = targets.evaluate(meta, [at_least, at_most], mode="full")
    assert (ok.status, ok.measured, ok.failed) == (targets.PASS, 3.0, False)
    assert (missed.status, missed.measured, missed.failed) == (targets.MISS, 1.3, True)
    (line,) = targets.failures([ok, missed])
    assert "s/b" in line and "fastdnn/gemm <= 1.05x" in line and "1.3x" in line


def test_worst_row_decides(targets):
    t = targets.Target("s", "a", "numpy/fastdnn", ">=", 2.0, "target: >= 2x NumPy")
    meta = _meta([_ratio("a", "numpy/fastdnn", 3.0), _ratio("a", "numpy/fastdnn", 1.5, n=16)])
    (o,) = targets.evaluate(meta, [t], mode="full")
    assert (o.status, o.measured) == (targets.MISS, 1.5)
    only_16 = targets.Target("s", "a", "numpy/fastdnn", ">=", 2.0, "target", n=8)
    assert targets.evaluate(meta, [only_16], mode="full")[0].status == targets.PASS


def test_value_columns(targets):
    """``"<impl>: <column>"`` labels read run cases' extras and measured cases' values."""
    acc = targets.Target("s", "fit", "sklearn: Δacc pts", "<=", 1.0, "target", unit=" pts")
    mem = targets.Target("s", "epoch", "fastdnn: anon incr % file", "<=", 25.0, "target")
    results = [{"section": "s", "name": "fit", "dtype": "float32", "n": 10, "impl": "sklearn",
                "extra": {"Δacc pts": 1.5}}]
    measurements = [{"section": "s", "name": "epoch", "dtype": "float32", "n": 10,
                     "impl": "fastdnn", "values": {"anon incr % file": 10.1}, "ratios": []}]
    got = targets.evaluate(_meta(results=results, measurements=measurements), [acc, mem], "full")
    assert [o.status for o in got] == [targets.MISS, targets.PASS]


def test_modes_and_missing_measurements(targets):
    t = targets.Target("s", "a", "torch/fastdnn", ">=", 2.0, "target", needs="torch")
    full_size = targets.Target("s", "a", "numpy/fastdnn", ">=", 2.0, "target", full_size=True)
    missed = _meta([_ratio("a", "numpy/fastdnn", 1.0)], anchors={"torch": True})
    assert [o.failed for o in targets.evaluate(missed, [t, full_size], "full")] == [True, True]
    assert targets.evaluate(missed, [t], "full")[0].status == targets.NOT_MEASURED
    assert [o.failed for o in targets.evaluate(missed, [t, full_size], "quick")] == [True, False]
    assert [o.failed for o in targets.evaluate(missed, [t, full_size], "smoke")] == [False, False]
    no_torch = {**missed, "anchors": {"torch": False}}
    (o,) = targets.evaluate(no_torch, [t], "full")
    assert (o.status, o.failed) == (targets.SKIPPED, False)
    (o,) = targets.evaluate(_meta([_ratio("other", "numpy/fastdnn", 1.0)]), [full_size], "full")
    assert (o.status, o.failed) == (targets.NOT_RUN, False)


def test_target_needing_several_packages(targets):
    """A target whose anchor needs several packages is skipped when any one is missing."""
    t = targets.Target("s", "a", "ort/fastdnn", ">=", 1.0, "target", needs=("onnx", "onnxruntime"))
    meta = _meta([_ratio("a", "numpy/fastdnn", 1.0)], anchors={"onnx": False, "onnxruntime": True})
    (o,) = targets.evaluate(meta, [t], "full")
    assert (o.status, o.failed, o.reason) == (targets.SKIPPED, False, "onnx not installed")
    both = {**meta, "anchors": {"onnx": True, "onnxruntime": True}}
    assert targets.evaluate(both, [t], "full")[0].status == targets.NOT_MEASURED


def _measured(name: str, groups: list, value: float, n: int = 8) -> dict:
    """A measured record of case ``name`` in ``groups`` with a ratio and a value column."""
    return {"section": "s", "name": name, "dtype": "float32", "n": n, "impl": "fastdnn",
            "groups": groups, "values": {"% peak": value},
            "ratios": [{"label": "anchor/fastdnn", "value": value / 100,
                        "numerator": "numpy", "denominator": "fastdnn"}]}


def test_group_targets_worst_and_median(targets):
    """A target on a group covers every record listing it: worst value or median."""
    records = [_measured("a", ["big", "all"], 90.0), _measured("b", ["all"], 40.0),
               _measured("c", ["big", "all"], 70.0, n=16), _measured("d", ["big", "all"], 120.0)]
    meta = _meta(measurements=records)
    worst = targets.Target("s", "big", "fastdnn: % peak", ">=", 85.0, "target", unit=" %")
    median = targets.Target("s", "all", "anchor/fastdnn", ">=", 0.8, "target",
                            aggregate="median")
    median_big = targets.Target("s", "big", "anchor/fastdnn", ">=", 0.95, "target",
                                aggregate="median")
    o_worst, o_big, o_all = targets.evaluate(meta, [worst, median_big, median], "full")
    assert (o_worst.status, o_worst.measured) == (targets.MISS, 70.0)    # b is not in "big"
    assert (o_big.status, o_big.measured) == (targets.MISS, 0.9)       # median of 0.9 0.7 1.2
    assert (o_all.status, o_all.measured) == (targets.PASS, 0.8)       # median of 4 values
    assert median.text == "median anchor/fastdnn >= 0.8x" and worst.text.startswith("fastdnn")
    assert o_all.record()["aggregate"] == "median"
    (o,) = targets.evaluate(_meta(measurements=records[:1]), [
        targets.Target("s", "none", "anchor/fastdnn", ">=", 1.0, "target")], "full")
    assert o.status == targets.NOT_RUN
    with pytest.raises(ValueError):
        targets.Target("s", "all", "anchor/fastdnn", ">=", 1.0, "target", aggregate="mean")


def test_measurement_tables_group_by_table(run):
    """Records naming a ``table`` share one table, one row each, named by their case."""
    report = sys.modules["_report"]
    records = [{**_measured(name, [], 50.0), "table": "products"} for name in ("a", "b")]
    records.append(_measured("peak", [], 1.0))
    tables = report.measurement_tables("s", records)
    assert len(tables) == 2
    (header, (rows,)), (_, (peak_rows,)) = tables
    assert [r[1] for r in rows] == ["a", "b"] and [r[1] for r in peak_rows] == ["peak"]
    assert header[5:] == ["% peak"]


def test_report_check_exit_code(run, targets, monkeypatch, capsys):
    t = targets.Target("s", "a", "numpy/fastdnn", ">=", 2.0, "target: >= 2x NumPy")
    monkeypatch.setattr(targets, "TARGETS", (t,))
    meta = {**_meta([_ratio("a", "numpy/fastdnn", 2.5)]), "args": {"sections": ["s"]}}
    assert run.report_check(meta) == 0
    meta["ratios"] = [_ratio("a", "numpy/fastdnn", 1.5)]
    assert run.report_check(meta) == 1
    assert "target missed: s/a" in capsys.readouterr().err
    assert run.report_check({**meta, "args": {"sections": ["s"], "smoke": True}}) == 0


def test_declared_targets_are_well_formed(targets):
    assert targets.TARGETS
    for t in targets.TARGETS:
        assert t.section in SECTIONS and t.op in (">=", "<=") and t.description
        assert "issue" not in t.description.lower()


# ------------------------------------------- the inference section's onnxruntime anchor

@pytest.fixture(scope="module")
def inference(run):
    return run.sections.load("inference")


def test_onnx_graph_reproduces_predict(inference):
    """The onnxruntime session runs the fastdnn model's own arrays (Gemm on W, Relu,
    Softmax): its outputs are predict's, at every m of the section."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    onnx, ort, why = inference.load_onnxruntime()
    assert why == ""
    try:
        for net in inference.NETS:
            params, X = inference.make_params(net)
            model = inference.fastdnn_model(net, params)
            session = inference.RemoteCall("onnxruntime", "forward",
                                           (inference.onnx_model(onnx, model), X))
            out = session()          # in the section's onnxruntime worker process
            expected = model.predict(X)
            assert out.dtype == np.float32 and out.shape == expected.shape
            assert (np.max(np.abs(out - expected))
                    <= inference.ORT_RTOL * np.max(np.abs(expected)))
    finally:
        inference.AnchorWorker.close_all()


def test_ort_check_flags_a_difference(inference):
    P = np.full((2, 10), 0.1, dtype=np.float32)
    impls = {inference.PREDICT: lambda: P, inference.ORT: lambda: P + np.float32(1e-3)}
    (failure,) = inference.check_ort(impls)
    assert "onnxruntime differs from fastdnn predict" in failure
    assert inference.check_ort({**impls, inference.ORT: lambda: P.copy()}) == []


def test_inference_without_onnxruntime(inference, monkeypatch):
    """Without onnxruntime the section runs without its column, ratio or check, and says so."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    cfg = sys.modules["_case"].Config(quick=True, samples=1, target_ns=1, smoke=True)
    *cases, interference = list(inference.cases(cfg))
    assert interference.params["variants"] == [inference.ALONE]   # no torch in cfg either
    assert cases and all(inference.ORT not in c.impls for c in cases)
    assert all(r.label != inference.ORT_VS_PREDICT for c in cases for r in c.ratios)
    assert all(c.check() == [] for c in cases)
    assert "onnxruntime skipped" in cases[0].notes[0] and not cases[-1].notes


def test_inference_ort_targets_per_batch(targets):
    """ort/predict: >= 1.5x for one example, >= 1.1x for batches of 32 and 1024."""
    def bounds(n):
        return [t["bound"] for t in targets.for_case("inference", "784-256-128-10 softmax", n)
                if t["ratio"] == "ort/predict"]

    assert [bounds(n) for n in (1, 32, 1024)] == [[1.5], [1.1], [1.1]]


def _importable(*names: str) -> bool:
    return all(importlib.util.find_spec(n) is not None for n in names)


@pytest.mark.parametrize("variant, packages", [("torch", ("torch",)),
                                               ("onnxruntime", ("onnx", "onnxruntime"))])
def test_interference_targets_wired(inference, targets, variant, packages):
    """"<variant>-first/alone <= 1.15" on every timed call of the variant's case, skipped
    when the variant's package is missing, read from the measured records' ratios."""
    var = inference.VARIANTS[variant]
    (t,) = [t for t in targets.TARGETS if t.case == var.case]
    assert (t.section, t.label, t.op, t.bound, t.packages) == \
        ("inference", var.label, "<=", 1.15, packages)
    assert "15 %" in t.description and "imported and used first" in t.description
    for n in (32, 1024):
        assert [d["ratio"] for d in targets.for_case("inference", var.case, n)] == [var.label]

    def record(n, value):
        return {"section": "inference", "name": var.case, "dtype": "float32", "n": n,
                "impl": "fastdnn predict", "values": {"alone µs": 3.0, var.column: value},
                "ratios": [] if value is None else [{"label": var.label, "value": value}]}

    have = {p: True for p in packages}
    met = _meta(measurements=[record(1024, 1.1), record(32, 0.9)], anchors=have)
    missed = _meta(measurements=[record(1024, 1.1), record(32, 1.2)], anchors=have)
    assert targets.evaluate(met, [t], "full")[0].status == targets.PASS
    assert (targets.evaluate(missed, [t], "full")[0].measured) == 1.2
    assert targets.evaluate(missed, [t], "full")[0].failed
    skipped = _meta(measurements=[record(1024, None)], anchors={p: False for p in packages})
    (o,) = targets.evaluate(skipped, [t], "full")
    assert (o.status, o.failed) == (targets.SKIPPED, False)


def test_interference_case_smoke(inference, targets):
    """The fresh-process case runs at its smoke size: a ratio per timed call for each
    variant whose package is installed, outputs checked, targets measured (not enforced)."""
    has_torch, has_ort = _importable("torch"), _importable("onnx", "onnxruntime")
    if not (has_torch or has_ort):
        pytest.skip("neither torch nor onnx + onnxruntime is installed")
    torch = importlib.import_module("torch") if has_torch else None
    cfg = sys.modules["_case"].Config(quick=True, samples=1, target_ns=50_000, torch=torch,
                                      smoke=True)
    case = inference.interference_case(cfg)
    records, notes, failures = case.measure()
    assert failures == []
    ran = [v for v, ok in ((inference.TORCH_FIRST, has_torch), (inference.ORT_FIRST, has_ort))
           if ok]
    for key in ran:
        var = inference.VARIANTS[key]
        recs = [r for r in records if r["name"] == var.case]
        assert {(r["impl"], r["n"]) for r in recs} == {
            ("fastdnn predict", m) for m in inference.SMOKE_INTERFERE_M} | {
            ("fastdnn fit epoch", inference.SMOKE_FIT_ROWS)}
        for r in recs:
            (q,) = r["ratios"]
            assert q["label"] == var.label and math.isfinite(q["value"]) and q["value"] > 0
            assert r["values"]["alone µs"] > 0 and r["values"][var.column] > 0
        assert any(n.startswith(f"fastdnn after {key}") for n in notes)
    anchors = {"torch": has_torch, "onnx": has_ort, "onnxruntime": has_ort}
    meta = {**_meta(measurements=records, anchors=anchors), "args": {"sections": ["inference"],
                                                                     "smoke": True}}
    outcomes = {o.target.case: o for o in targets.evaluate(meta)}
    for key in ran:
        o = outcomes[inference.VARIANTS[key].case]
        assert o.status in (targets.PASS, targets.MISS) and not o.failed


# ------------------------------------------- the estimators section (fastdnn.sklearn)

def test_estimators_targets_wired(targets):
    """sklearn/fastdnn >= 5x for the adam and sgd fits, >= 2x for lbfgs; every problem's
    score at most 1 point below scikit-learn's."""
    speed = {t.case: t.bound for t in targets.TARGETS
             if t.section == "estimators" and t.label == "sklearn/fastdnn"}
    assert speed == {"digits adam 64-128-10": 5.0, "digits sgd 64-128-10": 5.0,
                     "multilabel adam 100-128-10": 5.0, "sparse adam 5000-64-1": 5.0,
                     "regression lbfgs 50-64-1": 2.0}
    score = [t for t in targets.TARGETS
             if t.section == "estimators" and t.label != "sklearn/fastdnn"]
    assert {t.case for t in score} == set(speed)
    assert all((t.label, t.op, t.bound, t.needs, t.full_size) ==
               ("sklearn: Δscore pts", "<=", 1.0, "sklearn", True) for t in score)


def test_estimators_case_smoke(run, targets):
    """Each problem at its smoke size: both libraries fit with the same parameters, the
    case names are the targets', the scores and engine are reported, the checks pass."""
    pytest.importorskip("sklearn")
    pytest.importorskip("threadpoolctl")
    estimators = run.sections.load("estimators")
    _case = sys.modules["_case"]
    cfg = _case.Config(quick=True, samples=1, target_ns=1, smoke=True)
    meta = {**_meta(), "args": {"sections": ["estimators"], "smoke": True},
            "anchors": {"sklearn": True}}
    names = []
    for case in estimators.cases(cfg):
        names.append(case.name)
        assert set(case.impls) == {"fastdnn", "sklearn"} and case.repeats == 1
        results, ratios, _notes, failures = _case.run_case(case, 1, 1)
        assert failures == []
        (q,) = ratios
        assert q["label"] == "sklearn/fastdnn" and math.isfinite(q["value"]) and q["value"] > 0
        fd, sk = case.extras["fastdnn"], case.extras["sklearn"]
        assert abs(sk["Δscore pts"]) <= 200 and math.isfinite(fd["score"]) and fd["score"] <= 1
        assert fd["n_iter_"] == sk["n_iter_"] == case.n
        # the loop fastdnn trained in: the compiled one on dense X
        expected = {"digits adam": "compiled", "digits sgd": "compiled",
                    "multilabel adam": "compiled", "sparse adam": "python (X is sparse)",
                    "regression lbfgs": "compiled"}
        assert fd["engine"] == expected[case.name.rsplit(" ", 1)[0]]
        meta["results"] += results
        meta["ratios"] += ratios
    assert names == [t.case for t in targets.TARGETS
                     if t.section == "estimators" and t.label == "sklearn/fastdnn"]
    outcomes = targets.evaluate(meta)
    assert len(outcomes) == 10
    assert all(o.status in (targets.PASS, targets.MISS) and not o.failed for o in outcomes)


# ----------------------------------------------------- a wrong result fails

def _fake_section(run, kind: str) -> types.ModuleType:
    """A section of one case whose numpy result is right, wrong, or whose check fails."""
    _case = sys.modules["_case"]
    x = np.linspace(-1.0, 1.0, 64)

    def cases(cfg):
        off = 1e-3 if kind == "wrong result" else 0.0
        check = (lambda: ["the section's check failed"]) if kind == "failing check" else None
        yield _case.Case("fake", "double", "float64", x.size,
                         {"fastdnn": lambda: 2 * x, "numpy": lambda: 2 * x + off},
                         (_case.Ratio("vs numpy", "numpy", "fastdnn"),), check=check)

    return types.SimpleNamespace(cases=cases)


@pytest.mark.parametrize("kind", ["right", "wrong result", "failing check"])
def test_wrong_result_fails_check(run, kind, tmp_path, monkeypatch, capsys):
    real_load = run.sections.load
    monkeypatch.setattr(run.sections, "SECTIONS", run.sections.SECTIONS + ("fake",))
    monkeypatch.setattr(run.sections, "load", lambda name: _fake_section(run, kind)
                        if name == "fake" else real_load(name))
    monkeypatch.setattr(run, "load_torch", lambda threads: None)
    out = tmp_path / "out.json"
    argv = ["--smoke", "--json", str(out), "--sections", "fake"]
    assert run.main(argv) == 0          # without --check a failure is only reported
    assert run.main(argv + ["--check"]) == (0 if kind == "right" else 1)
    meta = json.loads(out.read_text(encoding="utf-8"))
    assert bool(meta["failures"]) is (kind != "right")
    err = capsys.readouterr().err
    assert ("--check: FAILED" in err) is (kind != "right")


def test_usage_error_exits_2(run):
    with pytest.raises(SystemExit) as exc:
        run.parse_args(["--sections", "no-such-section"])
    assert exc.value.code == 2


def test_activation_targets_cover_every_benchmarked_function(run, targets):
    """The element-wise goal's target rows (bench/targets.py) name exactly the functions
    sections/activations.py measures: every function of the element-wise API, each with
    a NumPy and a PyTorch target."""
    from sections import activations

    names = [spec.name for spec in activations.SPECS]
    assert len(names) == len(set(names))
    assert list(targets.ELEMENTWISE) == names
    for name in names:
        labels = {t.label for t in targets.TARGETS if t.section == "activations" and t.case == name}
        assert labels == {"vs numpy", "vs torch"}, name


# ------------------------------------------------------------- the MPI overlap probe

def test_mpi_overlap_probe_smoke(run, tmp_path):
    """bench/mpi_overlap.py --launch --smoke runs under mpiexec, with and without MPICH's
    progress thread, and prints a time for every variant and an efficiency per case."""
    if not run.sections.load("distributed")._have_mpi():
        pytest.skip("mpi4py or mpiexec is not installed")
    proc = subprocess.run([sys.executable, str(BENCH / "mpi_overlap.py"), "--launch", "--smoke"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in proc.stdout.splitlines()
            if line.startswith("| ") and not line.startswith(("| case", "| :"))]
    times = {(r[2], r[3]): float(r[4]) for r in rows if len(r) == 9}
    assert {v for _, v in times} == {"compute", "allreduce", "sequential", "overlapped",
                                     "+ Test"}
    assert {m for m, _ in times} == {"plain", "async"}
    assert all(math.isfinite(t) and t > 0 for t in times.values())
    efficiency = [float(r[3]) for r in rows if len(r) == 11]
    assert efficiency and all(math.isfinite(e) for e in efficiency)


def test_mpi_overlap_probe_without_mpi4py(tmp_path):
    """Without mpi4py the probe says so and exits with status 0."""
    script = str(BENCH / "mpi_overlap.py")
    code = ("import runpy, sys; sys.modules['mpi4py'] = None; "
            f"sys.argv = [{script!r}, '--launch']; runpy.run_path({script!r}, run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "mpi4py or mpiexec missing" in proc.stdout


# ------------------------------------------------------------- the accuracy probes

@pytest.mark.parametrize("probe", ["gelu_tail.py", "silu_zero.py"])
def test_accuracy_probe_prints_every_range(tmp_path, probe):
    """bench/gelu_tail.py (GELU's tail) and bench/silu_zero.py (SiLU's derivative around
    its zero) print one row per range of z, and fastdnn's column keeps its float32 function
    within 4 ULP on each (no result more than 4 ULP off)."""
    pytest.importorskip("scipy")
    proc = subprocess.run([sys.executable, str(BENCH / probe), "--points", "40001"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("[")]
    assert len(rows) == 8
    for row in rows:
        fastdnn_max, fastdnn_over = row.split(")")[1].split()[:2]
        assert float(fastdnn_max) <= 4.0 and fastdnn_over == "0.00%", row


# ------------------------------------------------------------- the step's limit

@pytest.mark.parametrize("args, layers, m", [
    ([], (1024, 2048, 2048, 1024), 512),
    (["--layers", "256,128,64,10", "--m", "64", "--ratio", "2"], (256, 128, 64, 10), 64)])
def test_step_limit_adds_up(tmp_path, args, layers, m):
    """bench/step_limit.py prints a step's eight products for each library and their sum,
    its rates are the step's and each product's work over their times, and what a ratio
    over another library's step asks is that step over the ratio."""
    proc = subprocess.run([sys.executable, str(BENCH / "step_limit.py"), "--rounds", "1",
                           "--repeat", "1", *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"{'-'.join(map(str, layers))} at m = {m}, float32: ")
    pairs = list(zip(layers[:-1], layers[1:]))
    mflop = 2 * m * (2 * sum(a * b for a, b in pairs) + sum(a * b for a, b in pairs[1:])) / 1e6
    gflop = float(lines[0].split(": ")[1].split()[0]) / 1e3
    assert gflop * 1e3 == pytest.approx(mflop, abs=1e-3)

    def cells(line: str) -> list[tuple[float, float]]:
        """(ms, GF/s) of each library's column."""
        parts = line.replace("(", " ").replace(")", " ").split()
        numbers = [float(p) for p in parts if p.replace(".", "", 1).isdigit()]
        return list(zip(numbers[0::2], numbers[1::2]))

    products = lines[2:10]
    assert [line.split()[0] for line in products] == [
        "Z1", "Z2", "Z3", "W3", "dA2", "W2", "dA1", "W1"], proc.stdout
    summed = next(line for line in lines if "the products, summed" in line)
    step = next(line for line in lines if line.startswith("  the step "))
    columns = len(cells(summed))
    assert columns in (2, 3), proc.stdout       # fastdnn, NumPy, and PyTorch when installed
    for c in range(columns):
        total = sum(cells(line)[c][0] for line in products)
        assert cells(summed)[c][0] == pytest.approx(total, abs=0.01 * len(products))
        ms, rate = cells(step)[c]
        assert rate == pytest.approx(gflop / ms * 1e3, rel=0.01, abs=0.1)
    ratio = float(args[args.index("--ratio") + 1]) if "--ratio" in args else 1.2
    asks = [line for line in lines if " step (" in line and " asks " in line]
    assert len(asks) == 2 * (columns - 1), proc.stdout     # best and median per other library
    for line in asks:
        theirs = float(line.split(" step (")[1].split(" ms")[0])
        need = float(line.split(" asks ")[1].split(" ms")[0])
        assert need == pytest.approx(theirs / ratio, abs=0.01)


def test_step_limit_refuses_bad_layers(tmp_path):
    for bad in ("a,b", "784", "10,0,3"):
        proc = subprocess.run([sys.executable, str(BENCH / "step_limit.py"), "--layers", bad],
                              capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert proc.returncode == 2 and "--layers must be" in proc.stderr, (bad, proc.stderr)


def test_predict_limit_adds_up(tmp_path):
    """bench/predict_limit.py prints predict's three products (fused and bare) and their
    sums, rates that are the pass's work over the times, and, with onnxruntime, what a ratio
    over the session asks."""
    m = 16
    proc = subprocess.run([sys.executable, str(BENCH / "predict_limit.py"), "--m", str(m),
                           "--rounds", "2", "--repeat", "1", "--ratio", "1.25"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    flops = [2 * m * a * b for a, b in zip((784, 256, 128), (256, 128, 10))]
    assert float(lines[0].split(": ")[1].split()[0]) == pytest.approx(sum(flops) / 1e6, abs=0.05)

    def cells(line: str) -> list[float]:
        """best us, its GF/s, median us, its GF/s"""
        return [float(p) for p in line.split(",")[-1].replace("(", " ").replace(")", " ")
                .split() if p.replace(".", "", 1).isdigit()][-4:]

    for what in ("fused", "bare"):
        rows = [line for line in lines if line.strip().startswith("Z") and f", {what}" in line]
        assert len(rows) == 3, proc.stdout
        summed = next(line for line in lines if f"the products, {what}, summed" in line)
        best = sum(cells(line)[0] for line in rows)
        assert cells(summed)[0] == pytest.approx(best, abs=0.2)
        for line, f in zip(rows, flops):
            us, rate = cells(line)[:2]
            assert rate == pytest.approx(f / us / 1e3, rel=0.03, abs=0.1)
    asks = [line for line in lines if line.startswith("1.25x the session's")]
    if any("onnxruntime session" in line for line in lines):
        assert len(asks) == 2, proc.stdout
        for line in asks:
            theirs = float(line.split("(")[1].split(" us")[0])
            need = float(line.split(" asks ")[1].split(" us")[0])
            assert need == pytest.approx(theirs / 1.25, abs=0.1)
    else:
        assert asks == [], proc.stdout


# ------------------------------------------------------------- where products' arrays start

def test_gemm_operands_start_alike_in_every_process(run):
    """The gemm section's operands and outputs (fastdnn's and each anchor worker's) start
    GEMM_OFFSET bytes past a 64-byte line, in each layout, and hold the seeded values."""
    worker = importlib.import_module("sections._anchor_worker")
    for layout in ("NN", "NT", "TN"):
        A, B = worker.gemm_inputs(5, 7, 3, layout, "float32", 11)
        rng = np.random.default_rng(11)
        want_A = rng.uniform(-1, 1, (7, 5) if layout == "TN" else (5, 7)).astype(np.float32)
        want_B = rng.uniform(-1, 1, (3, 7) if layout == "NT" else (7, 3)).astype(np.float32)
        np.testing.assert_array_equal(A, want_A.T if layout == "TN" else want_A)
        np.testing.assert_array_equal(B, want_B.T if layout == "NT" else want_B)
        for x in (A, B, worker.gemm_output(5, 3, np.float64)):
            assert x.ctypes.data % 64 == worker.GEMM_OFFSET, layout
    C = worker.gemm_output(4, 6, np.float32)
    assert C.shape == (4, 6) and C.flags.c_contiguous and np.isnan(C).all()


# ------------------------------------------------------------- builds of the engine side by side

FAKE_KERNELS = r"""
#include "fdnn_kernels.h"
#ifndef WRONG
#define WRONG
#endif
void fdnn_init(void) {}
void fdnn_set_num_threads(int n) { (void)n; }
#define NAIVE(G, T)                                                                   \
    for (ptrdiff_t i = 0; i < (G)->M; i++)                                              \
        for (ptrdiff_t j = 0; j < (G)->N; j++) {                                        \
            T s = 0;                                                                    \
            for (ptrdiff_t p = 0; p < (G)->K; p++)                                      \
                s += (G)->a[i * (G)->rs_a + p * (G)->cs_a] * (G)->b[p * (G)->rs_b + j * (G)->cs_b]; \
            (G)->c[i * (G)->ldc + j] = (G)->alpha * s WRONG;                            \
        }
void fdnn_gemm_f32(const fdnn_gemm_args_f32 *g) { NAIVE(g, float) }
void fdnn_gemm_f64(const fdnn_gemm_args_f64 *g) { NAIVE(g, double) }
"""


def _engine_ab_module() -> types.ModuleType:
    """bench/engine_ab.py as a module (registered first: its dataclass looks itself up)."""
    spec = importlib.util.spec_from_file_location("fastdnn_engine_ab", BENCH / "engine_ab.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def engine_ab(tmp_path, monkeypatch):
    """bench/engine_ab.py building a naive fdnn_gemm (FAKE_KERNELS) instead of csrc/, into
    a cache of its own: the tool's whole way, in a second."""
    cc = os.environ.get("CC", "cc")
    probe = tmp_path / "omp.c"
    probe.write_text("int main(void) { return 0; }\n")
    import shutil
    if not sys.platform.startswith("linux") or shutil.which(cc) is None or subprocess.run(
            [cc, "-fopenmp", str(probe), "-o", str(tmp_path / "omp")],
            capture_output=True).returncode != 0:
        pytest.skip("engine_ab builds with a C compiler with OpenMP, on Linux")
    module = _engine_ab_module()
    fake = tmp_path / "src"
    fake.mkdir()
    (fake / "fake.c").write_text(FAKE_KERNELS)
    for h in module.CSRC.glob("*.h"):
        (fake / h.name).write_bytes(h.read_bytes())
    monkeypatch.setattr(module, "_sources", lambda variant, into: fake)
    monkeypatch.setattr(module, "CACHE", tmp_path / "cache")
    return module


def test_engine_ab_times_variants_side_by_side(engine_ab, capsys):
    """Two builds (one with an extra flag) of the same source: both checked, timed by
    turns, each line with its times and a ratio to the first near 1; the builds cached."""
    code = engine_ab.main(["-v", "same=-DWRONG= -DUNUSED=1", "--shapes", "7,5,3,TN",
                           "9,4,6", "--dtypes", "f32", "f64", "--threads", "1",
                           "--seconds", "0.1"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line.split() for line in out.splitlines()[1:]]
    assert len(rows) == 2 * 2 * 2, out           # shapes x dtypes x variants
    names = [r[-7] for r in rows]
    assert names == ["base", "same"] * 4, out
    for r in rows:
        ratio, q1, q3 = float(r[-3]), float(r[-2].strip("[,")), float(r[-1].strip("]"))
        assert 0 < q1 <= ratio <= q3 and float(r[-5]) > 0, r
        if r[-7] == "base":
            assert ratio == 1.0
    assert rows[0][:4] == ["7x3", "@", "3x5", "TN"]
    libs = sorted((engine_ab.CACHE).glob("kernels-*.so"))
    assert len(libs) == 2, libs                   # one per flag set, reused below
    mtimes = [lib.stat().st_mtime_ns for lib in libs]
    assert engine_ab.main(["-v", "same=-DWRONG= -DUNUSED=1", "--shapes", "4,4,4",
                           "--threads", "1", "--seconds", "0.05"]) == 0
    assert [lib.stat().st_mtime_ns for lib in libs] == mtimes


def test_engine_ab_stops_at_a_wrong_build(engine_ab, capsys):
    """A build whose product is off by one in every element is caught by the check before
    it is timed: exit 2, naming it."""
    code = engine_ab.main(["-v", "base=-DWRONG=", "-v", "off=-DWRONG=+1", "--shapes",
                           "6,5,4,NT", "--threads", "1", "--seconds", "0.05"])
    err = capsys.readouterr().err
    assert code == 2 and "wrong" in err and "C[0, 0]" in err, err


@pytest.mark.parametrize("text", ["1,2", "1,2,3,XY", "0,2,3", "a,b,c"])
def test_engine_ab_refuses_a_bad_shape(text):
    module = _engine_ab_module()
    with pytest.raises(ValueError, match="shape"):
        module.parse_shape(text)
    with pytest.raises(ValueError, match="NAME=SPEC"):
        module.parse_variant("no-equals-sign")
