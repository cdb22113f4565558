"""scikit-learn is optional: ``import fastdnn`` never imports it, and ``fastdnn.sklearn``
says which extra to install when it is missing (runs without scikit-learn, too)."""
import subprocess
import sys


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_fastdnn_does_not_import_sklearn():
    code = ("import sys, fastdnn, fastdnn.sklearn\n"
            "fastdnn.Sequential\n"
            "print(sorted(m for m in sys.modules if m == 'sklearn' or m.startswith('sklearn.')))")
    assert _run(code) == "[]"


def test_missing_sklearn_raises_an_import_error_naming_the_extra():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import fastdnn, fastdnn.sklearn\n"
            "for attempt in ('from fastdnn.sklearn import MLPClassifier',\n"
            "                'fastdnn.sklearn.MLPRegressor'):\n"
            "    try:\n"
            "        exec(attempt)\n"
            "    except ImportError as exc:\n"
            "        print(type(exc).__name__, 'fastdnn[sklearn]' in str(exc))\n")
    assert _run(code).splitlines() == ["ImportError True", "ImportError True"]


def test_other_names_are_attribute_errors():
    code = ("import fastdnn.sklearn as s\n"
            "try:\n"
            "    s.NoSuchEstimator\n"
            "except AttributeError as exc:\n"
            "    print('AttributeError')\n"
            "print(s.__all__)")
    assert _run(code).splitlines() == ["AttributeError", "['MLPClassifier', 'MLPRegressor']"]
