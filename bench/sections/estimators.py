"""scikit-learn's estimators against fastdnn.sklearn's: ``fit`` on the same data, same parameters.

``fastdnn.sklearn.MLPClassifier``/``MLPRegressor`` are drop-ins for
``sklearn.neural_network``'s; this section fits both with identical constructor
arguments on identical arrays and compares the wall time of ``fit`` and the test score.
Five problems:

* ``digits adam`` / ``digits sgd`` -- ``sklearn.datasets.load_digits`` (1797 x 64, 10
  classes), split 75/25 (stratified, seed 0), standardized with the training split's
  mean and standard deviation (``StandardScaler``); ``MLPClassifier(hidden_layer_sizes=
  (128,), solver="adam")`` and ``solver="sgd", learning_rate_init=0.01`` (momentum 0.9,
  Nesterov: scikit-learn's defaults).
* ``multilabel adam`` -- ``make_multilabel_classification(5000, 100 features, 10 labels,
  seed 0)``, standardized; ``MLPClassifier((128,), solver="adam")`` with its logistic
  outputs; the score is scikit-learn's subset accuracy.
* ``sparse adam`` -- a text-like scipy.sparse CSR matrix, 5000 documents x 5000 terms at
  0.5 % density: term ``j`` drawn with a Zipf-like probability ``∝ 1/(j + 10)``, counts
  ``1 + Poisson(0.5)`` weighted by ``log(m / df) + 1`` (tf-idf), rows scaled to unit norm;
  the class (2) says whether a hidden random linear score of the row is above its median;
  ``MLPClassifier((64,), solver="adam")`` with its logistic output. fastdnn multiplies the
  sparse rows by the first layer with scipy.sparse products (below 5 % density), the rest
  on its own kernels.
* ``regression lbfgs`` -- ``make_regression(2000, 50 features, noise=10, seed 0)``,
  target divided by its standard deviation; ``MLPRegressor((64,), solver="lbfgs")``;
  the score is R².

Shared parameters: ``max_iter`` E (stochastic solvers 100 epochs, 50 for multilabel, 30
for the sparse set; lbfgs 200 iterations; ``--quick`` 10 / 5 / 3 and 20, ``--smoke`` 2
and 5 on a few hundred rows), ``tol=0`` and (stochastic) ``n_iter_no_change=E + 1`` so
that every fit runs all E epochs (checked on ``n_iter_``), ``batch_size="auto"`` (200),
``alpha=1e-4``, the default (Glorot-uniform) initialization, ``random_state=r`` for timed
run r (fastdnn draws the same initial weights and the same shuffles as scikit-learn from
it), float64 (the dtype of the standardized arrays; both keep it), ``ConvergenceWarning``
silenced for both.

Threads: scikit-learn's products run on NumPy's OpenBLAS. On a small shared machine (2
cores) its default pool of one thread per core made some of these fits 3x to 30x slower,
and erratic, whenever another process held a core (its threads spin-wait for each other), so
scikit-learn's fits run with BLAS limited to one thread (``threadpoolctl``), its fastest
and steadiest setting at these sizes: the stronger anchor. fastdnn runs its own products
on its default OpenMP team (``fastdnn.get_num_threads()``) and limits BLAS, which it
calls only for scipy's L-BFGS-B update, to one thread itself during ``fit``.

Timing (as in ``sections/train.py``): the wall time of the ``fit`` call only, on a fresh
estimator; each timed fit follows an untimed warm-up fit of the same implementation
(``max_iter=2``) so that caches are warm and the other library's thread pool has gone
quiet; the implementations take turns, 3 timed fits each (``--quick``/``--smoke``: 1);
the median is reported and ``sklearn/fastdnn`` is the median over runs of the run's time
ratio. Score: ``estimator.score`` on the 25 % test split (accuracy, subset accuracy or
R²), the median over the runs; ``Δscore pts`` of the sklearn row is scikit-learn's score
minus fastdnn's, in points (0.01 of a score); ``engine`` is the loop fastdnn's ``fit``
trained in (``compiled``: one compiled call per epoch, or for lbfgs per evaluation of the
loss and gradient; ``python (why)``: a few compiled calls per mini-batch or evaluation
from Python). Targets (``bench/targets.py``): ``sklearn/fastdnn >= 5x`` for the ``adam``
and ``sgd`` fits, ``>= 2x`` for ``lbfgs``, and ``Δscore pts <= 1`` on every problem.

Checks (failures): the stochastic solvers ran all E epochs, both estimators trained
float64 weights of the same shapes and scored a finite value (a note when L-BFGS-B stopped
after different numbers of iterations).
"""
from __future__ import annotations

import statistics
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

import fastdnn
from _case import Case, Config, Ratio

SECTION = "estimators"
DTYPE = np.float64
SEED = 0
TEST_SIZE = 0.25
REPEATS, QUICK_REPEATS = 3, 1
WARMUP_ITER = 2
IMPLS = ("fastdnn", "sklearn")


@dataclass(frozen=True)
class Problem:
    """A data set, the estimator and its parameters, at full, quick and smoke sizes."""

    key: str                         # name of the data set maker below
    solver: str
    hidden: tuple[int, ...]
    max_iter: tuple[int, int, int]   # full, quick, smoke
    rows: tuple[int | None, int | None, int | None] = (None, None, None)   # None: all
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def regressor(self) -> bool:
        return self.solver == "lbfgs"


PROBLEMS = (
    Problem("digits", "adam", (128,), (100, 10, 2)),
    Problem("digits", "sgd", (128,), (100, 10, 2), params={"learning_rate_init": 0.01}),
    Problem("multilabel", "adam", (128,), (50, 5, 2), rows=(5000, 5000, 400)),
    Problem("sparse", "adam", (64,), (30, 3, 2), rows=(5000, 5000, 400)),
    Problem("regression", "lbfgs", (64,), (200, 20, 5), rows=(2000, 2000, 300)),
)


# ------------------------------------------------------------------ data

@dataclass(frozen=True)
class Data:
    description: str
    Xtr: Any          # (m, n) float64 ndarray or CSR matrix
    Xte: Any
    ytr: np.ndarray
    yte: np.ndarray
    n_out: int

    @property
    def n(self) -> int:
        return self.Xtr.shape[1]


def _split(X: Any, y: np.ndarray, stratify: bool) -> tuple:
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=TEST_SIZE, random_state=SEED,
                            stratify=y if stratify else None)


def _standardized(Xtr: np.ndarray, Xte: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(Xtr)
    return (np.ascontiguousarray(scaler.transform(Xtr), dtype=DTYPE),
            np.ascontiguousarray(scaler.transform(Xte), dtype=DTYPE))


def digits(rows: int | None) -> Data:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    if rows is not None:
        X, y = X[:rows], y[:rows]
    Xtr, Xte, ytr, yte = _split(X, y, stratify=True)
    Xtr, Xte = _standardized(Xtr, Xte)
    return Data(f"sklearn load_digits {X.shape[0]} x {X.shape[1]}, 10 classes, standardized",
                Xtr, Xte, ytr, yte, 10)


def multilabel(rows: int) -> Data:
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(n_samples=rows, n_features=100, n_classes=10,
                                          random_state=SEED)
    Xtr, Xte, Ytr, Yte = _split(X, Y, stratify=False)
    Xtr, Xte = _standardized(Xtr, Xte)
    return Data(f"make_multilabel_classification {rows} x 100, 10 labels, standardized",
                Xtr, Xte, Ytr, Yte, 10)


def sparse_text(rows: int, terms: int = 5000, density: float = 0.005) -> Data:
    """Zipf-like term frequencies, tf-idf weights, unit rows; the class of a row is the
    side of the median a hidden random linear score falls on (see the module doc)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(SEED)
    per_row = max(1, round(density * terms))
    p = 1.0 / (np.arange(terms) + 10.0)
    p /= p.sum()
    cols = np.empty((rows, per_row), dtype=np.int64)
    for i in range(rows):
        cols[i] = rng.choice(terms, size=per_row, replace=False, p=p)
    counts = 1.0 + rng.poisson(0.5, size=(rows, per_row))
    X = sp.csr_matrix((counts.ravel(), cols.ravel(), np.arange(0, rows * per_row + 1, per_row)),
                      shape=(rows, terms))
    X.sort_indices()
    df = np.maximum(np.bincount(X.indices, minlength=terms), 1)
    X = X @ sp.diags(np.log(rows / df) + 1.0)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1.0 / norms) @ X, dtype=DTYPE)
    score = X @ rng.normal(size=terms)
    y = (score > np.median(score)).astype(np.int64)
    Xtr, Xte, ytr, yte = _split(X, y, stratify=True)
    return Data(f"text-like CSR {rows} x {terms} at {100 * X.nnz / (rows * terms):.2g} % "
                f"density (tf-idf, unit rows), 2 classes from a hidden linear rule",
                Xtr.tocsr(), Xte.tocsr(), ytr, yte, 1)


def regression(rows: int) -> Data:
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=rows, n_features=50, noise=10.0, random_state=SEED)
    y = y / y.std()
    Xtr, Xte, ytr, yte = _split(X.astype(DTYPE), y, stratify=False)
    return Data(f"make_regression {rows} x 50, noise 10, target / its std", Xtr, Xte, ytr,
                yte, 1)


MAKERS: dict[str, Callable[[Any], Data]] = {"digits": digits, "multilabel": multilabel,
                                             "sparse": sparse_text, "regression": regression}


def mode_index(cfg: Config) -> int:
    """0 full, 1 quick, 2 smoke."""
    return 2 if cfg.smoke else 1 if cfg.quick else 0


# --------------------------------------------------------- implementations

def estimator_params(problem: Problem, max_iter: int, seed: int) -> dict[str, Any]:
    """The constructor arguments both libraries get."""
    kw: dict[str, Any] = dict(hidden_layer_sizes=problem.hidden, solver=problem.solver,
                              max_iter=max_iter, tol=0.0, random_state=seed,
                              **problem.params)
    if problem.solver != "lbfgs":
        kw["n_iter_no_change"] = max_iter + 1
    return kw


class Impl:
    """One library's estimator: ``new(max_iter, seed)`` (untimed), ``fit()`` (timed),
    ``score()``, ``info()``; ``enter``/``exit`` bracket every timed fit, untimed."""

    def __init__(self, name: str, module: Any, problem: Problem, data: Data):
        from sklearn.exceptions import ConvergenceWarning

        self.name, self.problem, self.data = name, problem, data
        self.cls = module.MLPRegressor if problem.regressor else module.MLPClassifier
        self.ConvergenceWarning = ConvergenceWarning
        self.est: Any = None
        self._limit: Any = None

    def new(self, max_iter: int, seed: int) -> None:
        self.est = self.cls(**estimator_params(self.problem, max_iter, seed))

    def fit(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self.ConvergenceWarning)
            self.est.fit(self.data.Xtr, self.data.ytr)

    def score(self) -> float:
        return float(self.est.score(self.data.Xte, self.data.yte))

    def info(self) -> dict[str, Any]:
        info = {"n_iter": int(self.est.n_iter_), "shapes": [c.shape for c in self.est.coefs_]}
        engine = getattr(self.est, "_training_engine", None)
        if engine is not None:
            info["engine"] = engine
        return info

    def enter(self) -> None:
        """scikit-learn: BLAS limited to one thread (see the module doc)."""
        if self.name == "sklearn":
            from threadpoolctl import threadpool_limits

            self._limit = threadpool_limits(limits=1, user_api="blas")

    def exit(self) -> None:
        if self._limit is not None:
            self._limit.restore_original_limits()
            self._limit = None


def sklearn_available() -> bool:
    try:
        import sklearn.neural_network  # noqa: F401
        import threadpoolctl  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------ cases

class Runs:
    """The untimed hooks: warm-up and a fresh estimator before each timed fit, scoring
    after it; results in ``runs``."""

    def __init__(self, impls: dict[str, Impl], max_iter: int, runs: dict):
        self.impls, self.max_iter, self.runs = impls, max_iter, runs

    def before(self, name: str) -> Callable[[], None]:
        impl = self.impls[name]

        def prepare() -> None:
            seed = SEED + len(self.runs.get(name, {}).get("score", []))   # run r: seed r
            impl.enter()
            impl.new(min(WARMUP_ITER, self.max_iter), seed)   # throwaway warm-up fit
            impl.fit()
            impl.new(self.max_iter, seed)
        return prepare

    def after(self, name: str) -> Callable[[], np.ndarray]:
        impl = self.impls[name]

        def score() -> np.ndarray:
            impl.exit()
            rec = self.runs.setdefault(name, {"seed": [], "score": [], "n_iter": []})
            rec["seed"].append(SEED + len(rec["score"]))
            rec["score"].append(impl.score())
            info = impl.info()
            rec["n_iter"].append(info["n_iter"])
            rec["shapes"] = [list(s) for s in info["shapes"]]
            if "engine" in info:
                rec["engine"] = info["engine"]
            W = np.asarray(impl.est.coefs_[0])
            rec["param_dtype"] = str(W.dtype)
            return W
        return score


def summarize(problem: Problem, runs: dict, extras: dict, max_iter: int
              ) -> tuple[list[str], list[str]]:
    """The extra columns (median score, sklearn's minus fastdnn's in points, iterations,
    fastdnn's engine); failures and notes."""
    failures, notes = [], []
    med = {name: statistics.median(rec["score"]) for name, rec in runs.items()}
    for name, rec in runs.items():
        extras[name] = {
            "score": round(med[name], 4),
            "Δscore pts": (round(100 * (med[name] - med["fastdnn"]), 2) + 0.0
                           if name != "fastdnn" and "fastdnn" in med else None),
            "n_iter_": statistics.median(rec["n_iter"]),
            "engine": rec.get("engine", "")}
        if not all(np.isfinite(rec["score"])):
            failures.append(f"{name} scored {rec['score']}")
        if problem.solver != "lbfgs" and any(n != max_iter for n in rec["n_iter"]):
            failures.append(f"{name} ran {rec['n_iter']} epochs instead of {max_iter}")
    if "sklearn" in runs:
        fd, sk = runs["fastdnn"], runs["sklearn"]
        if fd["shapes"] != sk["shapes"] or fd["param_dtype"] != sk["param_dtype"]:
            failures.append(f"fastdnn trained {fd['param_dtype']} {fd['shapes']}, sklearn "
                            f"{sk['param_dtype']} {sk['shapes']}")
        if problem.solver == "lbfgs" and fd["n_iter"] != sk["n_iter"]:
            notes.append(f"L-BFGS-B stopped after different numbers of iterations (rounding "
                         f"differs): fastdnn {fd['n_iter']}, sklearn {sk['n_iter']}")
    else:
        notes.append("scikit-learn (or threadpoolctl) is not installed: fastdnn alone")
    if "engine" in runs.get("fastdnn", {}):
        notes.append(f"fastdnn trained in the {runs['fastdnn']['engine']} loop")
    return failures, notes


def case_name(problem: Problem, data: Data) -> str:
    dims = "-".join(map(str, [data.n, *problem.hidden, data.n_out]))
    return f"{problem.key} {problem.solver} {dims}"


def make_case(problem: Problem, cfg: Config) -> Case:
    i = mode_index(cfg)
    data = MAKERS[problem.key](problem.rows[i])
    max_iter = problem.max_iter[i]
    repeats = QUICK_REPEATS if cfg.quick else REPEATS
    impls: dict[str, Impl] = {}
    import fastdnn.sklearn as fd_sklearn
    impls["fastdnn"] = Impl("fastdnn", fd_sklearn, problem, data)
    if sklearn_available():
        import sklearn.neural_network as sk_nn
        impls["sklearn"] = Impl("sklearn", sk_nn, problem, data)
    runs: dict[str, dict] = {}
    hooks = Runs(impls, max_iter, runs)
    ratios = (Ratio("sklearn/fastdnn", "sklearn", "fastdnn"),) if "sklearn" in impls else ()
    m_train = data.Xtr.shape[0]
    params: dict[str, Any] = {
        "dataset": data.description, "m_train": m_train, "m_test": data.Xte.shape[0],
        "n_features": data.n, "n_outputs": data.n_out,
        "sparse": not isinstance(data.Xtr, np.ndarray),
        "estimator": "MLPRegressor" if problem.regressor else "MLPClassifier",
        "estimator_params": {k: (list(v) if isinstance(v, tuple) else v)
                             for k, v in estimator_params(problem, max_iter, SEED).items()
                             if k != "random_state"},
        "random_state": "timed run r: r (split: seed 0)", "repeats": repeats,
        "warmup_max_iter": min(WARMUP_ITER, max_iter),
        "threads": {"fastdnn": fastdnn.get_num_threads(), "sklearn BLAS": 1},
        "versions": _versions(), "runs": runs}
    extras: dict[str, dict[str, Any]] = {}

    def check() -> list[str]:
        failures, notes = summarize(problem, runs, extras, max_iter)
        case.notes.extend(notes)
        return failures

    case = Case(SECTION, case_name(problem, data), np.dtype(DTYPE).name, max_iter,
                {name: impl.fit for name, impl in impls.items()}, ratios, params=params,
                reference="fastdnn", repeats=repeats,
                before={name: hooks.before(name) for name in impls},
                after={name: hooks.after(name) for name in impls},
                extras=extras, unit="iteration", check=check)
    return case


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"fastdnn": fastdnn.__version__, "numpy": np.__version__}
    for name in ("sklearn", "scipy", "threadpoolctl"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = None
    return out


def cases(cfg: Config) -> Iterator[Case]:
    """One case per problem; N is ``max_iter``."""
    try:
        import sklearn  # noqa: F401
    except ImportError:       # fastdnn.sklearn needs scikit-learn: nothing to run
        return
    for problem in PROBLEMS:
        yield make_case(problem, cfg)
