"""Threads, SIMD selection and the `python -m fastdnn info` command."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastdnn
from fastdnn._kernels import _elementwise as _ew


@pytest.fixture
def restore_threads():
    yield
    fastdnn.set_num_threads(None)


def test_set_and_get_num_threads(restore_threads):
    fastdnn.set_num_threads(1)
    assert fastdnn.get_num_threads() == 1
    if _ew.openmp_enabled():
        fastdnn.set_num_threads(3)
        assert fastdnn.get_num_threads() == 3


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                      ("2", TypeError), (True, TypeError)])
def test_set_num_threads_rejects(bad, exc, restore_threads):
    fastdnn.set_num_threads(2)
    with pytest.raises(exc, match="n must be"):
        fastdnn.set_num_threads(bad)
    assert fastdnn.get_num_threads() == (2 if _ew.openmp_enabled() else 1)


def test_default_threads_follow_threadpoolctl(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not _ew.openmp_enabled():
        pytest.skip("built without OpenMP")
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fastdnn.get_num_threads() == 1


@pytest.mark.parametrize("nthreads", [1, 2, 3])
def test_results_do_not_depend_on_threads(nthreads, restore_threads):
    z = np.random.default_rng(0).normal(0, 5, 1_000_003).astype(np.float32)
    fastdnn.set_num_threads(1)
    want = [fastdnn.sigmoid(z), fastdnn.relu(z), fastdnn.tanh_backward(z, fastdnn.tanh(z))]
    fastdnn.set_num_threads(nthreads)
    got = [fastdnn.sigmoid(z), fastdnn.relu(z), fastdnn.tanh_backward(z, fastdnn.tanh(z))]
    for w, g in zip(want, got):
        assert np.array_equal(w, g)


def test_simd_paths_agree_and_switch(simd):
    assert _ew.simd_path() == simd
    z = np.linspace(-30, 30, 4099)
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(fastdnn.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-15)


def test_set_simd_path_rejects_unknown():
    with pytest.raises(ValueError, match="simd path"):
        _ew.set_simd_path("sse9")
    assert _ew.simd_available("portable")


def _run(args, env=None):
    return subprocess.run([sys.executable, "-m", "fastdnn", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_info_command_prints_configuration():
    res = _run(["info"])
    assert res.returncode == 0, res.stderr
    fields = dict(line.split(None, 1) for line in res.stdout.strip().splitlines())
    assert fields["version"] == fastdnn.__version__
    assert fields["simd"] in ("avx512", "avx2", "portable")
    assert int(fields["threads"]) >= 1
    assert fields["gemm"].startswith("fastdnn packed")


def test_environment_selects_simd_path():
    env = dict(os.environ, FASTDNN_SIMD="portable")
    res = _run(["info"], env)
    assert res.returncode == 0, res.stderr
    assert "simd           portable" in res.stdout


def test_omp_num_threads_is_followed():
    if not _ew.openmp_enabled():
        pytest.skip("built without OpenMP")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = _run(["info"], env)
    assert "threads        1" in res.stdout


def test_unknown_command_fails_cleanly():
    res = _run(["frobnicate"])
    assert res.returncode == 2
    assert "invalid choice" in res.stderr


def test_forked_child_does_not_hang():
    """GNU OpenMP cannot enter a parallel region in a child forked after the parent
    used its threads; fastdnn makes forked children single-threaded."""
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    code = (
        "import os, numpy as np, fastdnn as fd\n"
        "x = np.ones(1 << 22, np.float32); fd.set_num_threads(2); y = fd.sigmoid(x)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(0 if np.array_equal(fd.sigmoid(x), y) else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "raise SystemExit(os.waitstatus_to_exitcode(status))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_info_reports_each_decision_and_why():
    decisions = fastdnn.info()["decisions"]
    assert set(decisions) == {"openmp_spin", "fork", "simd", "gemm", "streaming", "threads"}
    assert all(isinstance(v, str) and v for v in decisions.values())
    assert decisions["simd"].startswith(_ew.simd_path())


def test_info_reports_the_streaming_size():
    size = _ew.stream_from()
    streaming = fastdnn.info()["streaming"]
    assert streaming == (f"outputs from {size / 2**20:g} MiB" if size else "off")


def test_import_leaves_the_environment_unchanged():
    code = ("import os; before = dict(os.environ); import fastdnn; "
            "raise SystemExit(0 if dict(os.environ) == before else 1)")
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr


def test_user_spin_settings_are_left_alone():
    env = dict(os.environ, GOMP_SPINCOUNT="5")
    res = subprocess.run([sys.executable, "-c", "import os, fastdnn; "
                          "print(os.environ['GOMP_SPINCOUNT']); "
                          "print(fastdnn.info()['decisions']['openmp_spin'])"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    value, why = res.stdout.splitlines()
    assert value == "5" and "user" in why


def test_forked_child_drops_compiled_plans():
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    code = (
        "import os, numpy as np, fastdnn as fd\n"
        "from fastdnn.layers import Dense\n"
        "m = fd.Sequential([Dense(3, activation='relu')], seed=0); m.build(4)\n"
        "X = np.ones((5, 4), np.float32); y = m.predict(X)\n"
        "assert m._fast_predict is not None\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    ok = m._fast_predict is None and np.array_equal(m.predict(X), y)\n"
        "    os._exit(0 if ok else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "raise SystemExit(os.waitstatus_to_exitcode(status))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_products_run_on_fastdnn_engine():
    """No BLAS: the products are fastdnn's own, on the SIMD path's tiles."""
    rows, cols = _ew.gemm_tile(False)
    assert fastdnn.info()["gemm"].startswith(f"fastdnn packed, {_ew.simd_path()} micro-kernels, "
                                             f"tiles {rows}x{cols}")
    assert "no BLAS" in fastdnn.info()["decisions"]["gemm"]


def test_info_says_when_another_library_loaded_openmp_first():
    """libgomp reads its spin setting once: loaded before fastdnn (as PyTorch's is), that
    runtime's setting applies, and info() says so instead of claiming fastdnn's."""
    code = ("import ctypes, ctypes.util, sys\n"
            "name = ctypes.util.find_library('gomp')\n"
            "if name is None:\n"
            "    sys.exit(3)\n"
            "ctypes.CDLL(name)\n"
            "import fastdnn\n"
            "print(fastdnn.info()['decisions']['openmp_spin'])\n")
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=env)
    if res.returncode == 3 or not sys.platform.startswith("linux"):
        pytest.skip("no GNU OpenMP runtime to load first")
    assert res.returncode == 0, res.stderr
    assert "loaded before fastdnn" in res.stdout and "libgomp" in res.stdout
