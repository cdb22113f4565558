"""Training a whole network: ``fit`` of fastdnn vs scikit-learn, the NumPy reference and torch.

The "training" benchmark: the configuration of ``python -m fastdnn
demo``, trained to the end by each implementation, timed as one wall-clock
run per fit. Two problems:

* ``digits`` -- scikit-learn's 8x8 digits (1797 x 64, 10 classes; a generated
  10-class problem of the same shape, ``fastdnn._datasets.load``, when
  scikit-learn is not installed); network ``[64, 128 relu, 10 softmax]``,
  categorical cross-entropy.
* ``breast-cancer`` -- scikit-learn's breast-cancer data (569 x 30, 2
  classes; generated when scikit-learn is absent); network
  ``[30, 16 relu, 8 relu, 1 sigmoid]``, binary cross-entropy.

Shared by all implementations: the same 75/25 split
(``fastdnn._datasets.train_test_split``, seed 0); inputs normalized with the
per-feature ``μ``, ``σ²`` of the training split (fastdnn: a ``Normalizer``
layer adapted on it, applied inside the model on every batch; the others get
the arrays ``(X - μ) / sqrt(σ² + ε)`` computed once, untimed, bit-identical to
what the layer produces -- checked); Adam with α = 1e-3, β1 = 0.9, β2 = 0.999,
ε = 1e-8; mini-batches of 32 (the last one partial), a new shuffle every
epoch; E epochs (100, ``--quick`` 10, ``--smoke`` 2), no early stopping, no L2 penalty;
float32 (scikit-learn keeps float32 input in float32 -- the dtype column shows
the dtype of its fitted ``coefs_``). Every implementation also computes the
training loss of each mini-batch (fastdnn's history, scikit-learn's
``loss_curve_``, the reference's costs, ``loss.item()`` in torch).

The implementations (each fit starts from a fresh model; timed run r = 0, 1, 2
seeds every implementation's initial weights and shuffling with r):

* ``fastdnn`` -- ``Sequential([Input, Normalizer, Dense..., Dense...])``,
  ``compile(Adam(1e-3), loss)``, ``fit(X, y, epochs=E, batch_size=32,
  seed=r, verbose=0)`` (``Sequential(seed=r)``). Initial weights: the library's defaults, He normal
  (``N(0, 2/n_prev)``) for the ReLU layers, Xavier normal (``N(0, 1/n_prev)``)
  for the output layer, biases 0.
* ``sklearn`` -- ``MLPClassifier(hidden_layer_sizes=(128,) or (16, 8),
  activation="relu", solver="adam", batch_size=32, learning_rate_init=1e-3,
  max_iter=E, shuffle=True, tol=0, n_iter_no_change=E + 1,
  early_stopping=False, alpha=0, random_state=r)`` on float32 input,
  ``ConvergenceWarning`` silenced; it runs all E epochs (checked on
  ``n_iter_``). Initial weights: its own default, Glorot uniform
  ``U(±sqrt(6 / (fan_in + fan_out)))`` for weights and biases.
* ``numpy`` -- ``fastdnn.reference.train`` (plain NumPy, arrays
  ``(n_l, m)``), called as ``python -m fastdnn demo`` calls it: from the same
  initial weights as fastdnn, permutations from ``default_rng(r)``.
* ``torch`` (when installed) -- ``nn.Sequential`` of ``Linear`` and ``ReLU``,
  ``CrossEntropyLoss`` / ``BCEWithLogitsLoss`` on the logits,
  ``optim.Adam(lr=1e-3)``, a DataLoader-free loop over ``torch.randperm``
  with batches of 32, ``torch.manual_seed(r)``, float32, the thread count
  ``bench/run.py`` gives torch (``fastdnn.get_num_threads()``, torch's own
  default on most machines).
  Initial weights: torch's defaults, ``U(±1/sqrt(fan_in))`` for weights and
  biases.
* ``torch 1 thread`` (when torch has more than one thread) -- the same with
  ``torch.set_num_threads(1)`` during the fit: at these sizes torch's
  intra-op threads buy nothing, and on a machine whose cores are partly busy
  its OpenMP threads wait on each other (seen: 10x-20x slower steps with 2
  threads on a 2-core machine with one core taken).

Initial weights thus differ in scheme between libraries (each uses its
default), which moves accuracies by a fraction of a point from run to run;
the data, the optimizer, its hyper-parameters and the number of updates are
the same.

Timing: the wall time of the fit call only (model construction, warm-up and
scoring are untimed). Each implementation's timed fit is preceded by an
untimed warm-up fit of 1 epoch on a throwaway model (caches, lazy
initialisation, and the previous implementation's spinning thread pools gone
quiet); the implementations take turns, 3 timed fits each (``--quick``: 1),
the median is reported (see ``_case.measure_runs``). Time per epoch is the
median fit time / E.

Accuracy: after every timed fit, the model's class probabilities on the 25 %
test split are turned into labels the same way for every implementation
(``p >= 0.5`` for one sigmoid unit, else the argmax) and compared with the
true labels; ``test acc`` is the median over the runs (seeds), so that one
seed's luck -- a point on the digits test set is 4.5 examples -- weighs
less. ``Δacc pts`` is an implementation's median test accuracy minus
fastdnn's, in percentage points; ``train loss`` the median mean training
loss of the last epoch (the NumPy reference's binary cross-entropy is NaN
once a float32 sigmoid output saturates at exactly 0 or 1, so for the
implementations other than fastdnn a non-finite loss is a note, not a
failure). The targets -- fastdnn at least 10x faster than scikit-learn, with a
test accuracy at most one point below it (``Δacc pts`` of the sklearn row <=
1) -- are in ``bench/targets.py``, stated for the full 100 epochs.

Checks (a failure of the run when they find something wrong): the normalized
arrays equal the Normalizer layer's output, every implementation ran all E
epochs and trained float32 parameters, fastdnn's final training loss is finite.
"""
from __future__ import annotations

import statistics
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

import fastdnn
from fastdnn import reference
from fastdnn._datasets import load, train_test_split
from fastdnn.layers import Dense, Input, Normalizer
from fastdnn.models import Sequential
from fastdnn.optimizers import Adam
from _case import Case, Config, Ratio

SECTION = "train"
DTYPE = np.float32
SEED = 0
TEST_SIZE = 0.25
BATCH = 32
LR = 1e-3
EPOCHS, QUICK_EPOCHS, SMOKE_EPOCHS = 100, 10, 2
REPEATS, QUICK_REPEATS = 3, 1
WARMUP_EPOCHS = 1

INIT = {
    "fastdnn": "He normal N(0, 2/n_prev) for ReLU layers, Xavier normal N(0, 1/n_prev) for the "
               "output layer, b = 0 (library defaults)",
    "sklearn": "Glorot uniform U(+-sqrt(6/(fan_in+fan_out))) for W and b (MLPClassifier default)",
    "numpy": "the same initial weights as fastdnn",
    "torch": "U(+-1/sqrt(fan_in)) for W and b (nn.Linear default)",
    "torch 1 thread": "U(+-1/sqrt(fan_in)) for W and b (nn.Linear default)",
}


@dataclass(frozen=True)
class Problem:
    """A dataset and the hidden layers of the network trained on it."""

    dataset: str              # a name for fastdnn._datasets.load
    hidden: tuple[int, ...]   # ReLU units per hidden layer


PROBLEMS = (Problem("digits", (128,)), Problem("breast_cancer", (16, 8)))


@dataclass(frozen=True)
class Data:
    """A split, raw (for fastdnn's Normalizer) and normalized (for the others)."""

    description: str
    Xtr: np.ndarray       # (m, n) float32, raw
    Xte: np.ndarray
    ytr: np.ndarray       # (m,) int labels 0..k-1
    yte: np.ndarray
    Xtr_n: np.ndarray     # (m, n) float32, (X - μ) / sqrt(σ² + ε) as the layer computes it
    Xte_n: np.ndarray
    k: int                # classes

    @property
    def n(self) -> int:
        return self.Xtr.shape[1]

    @property
    def binary(self) -> bool:
        return self.k == 2

    @property
    def n_out(self) -> int:
        return 1 if self.binary else self.k

    @property
    def output(self) -> str:
        return "sigmoid" if self.binary else "softmax"

    @property
    def loss(self) -> str:
        return "binary_crossentropy" if self.binary else "categorical_crossentropy"


def adapted_normalizer(Xtr: np.ndarray) -> Normalizer:
    """A fresh Normalizer adapted on the training split."""
    norm = Normalizer()
    norm.adapt(Xtr)
    return norm


def normalize_like_layer(norm: Normalizer, X: np.ndarray) -> np.ndarray:
    """``(X - μ) * (1 / sqrt(σ² + ε))`` in float32 with the float32 ``μ``, ``σ²`` a
    built Normalizer holds (its public weights): the layer's own arithmetic."""
    mean, var = norm.get_weights()
    inv_std = (1.0 / np.sqrt(var.astype(np.float64) + norm.epsilon)).astype(DTYPE)
    return np.ascontiguousarray((X - mean.T) * inv_std.T, dtype=DTYPE)


def make_data(problem: Problem) -> tuple[Data, list[str]]:
    """The split and its normalized arrays, and failures if they differ from the layer's output."""
    X, y, description = load(problem.dataset, SEED)
    Xtr, Xte, ytr, yte = train_test_split(X, y, TEST_SIZE, SEED)
    Xtr, Xte = Xtr.astype(DTYPE), Xte.astype(DTYPE)
    norm = adapted_normalizer(Xtr)
    norm.build(Xtr.shape[1], DTYPE, np.random.default_rng(SEED))
    Xtr_n, Xte_n = normalize_like_layer(norm, Xtr), normalize_like_layer(norm, Xte)
    failures = []
    for name, X_raw, X_n in (("train", Xtr, Xtr_n), ("test", Xte, Xte_n)):
        by_layer = norm.forward(X_raw.T, training=False).T
        if not np.array_equal(by_layer, X_n):
            failures.append(f"normalized {name} inputs differ from the Normalizer layer's output "
                            f"(max abs diff {np.max(np.abs(by_layer - X_n)):.3g})")
    k = int(max(ytr.max(), yte.max())) + 1
    return Data(description, Xtr, Xte, ytr, yte, Xtr_n, Xte_n, k), failures


def predicted_classes(P: np.ndarray) -> np.ndarray:
    """Labels from probabilities ``(m, 1)`` (sigmoid: ``p >= 0.5``) or ``(m, k)`` (argmax)."""
    return (P[:, 0] >= 0.5).astype(np.int64) if P.shape[1] == 1 else np.argmax(P, axis=1)


# ---------------------------------------------------------- implementations

class Impl:
    """One implementation: ``new(epochs, seed)`` makes a fresh untrained model
    (untimed), ``fit()`` trains it (timed), ``proba()`` gives its test-set
    probabilities ``(m_test, 1 or k)``, ``first_weight()`` its first weight
    matrix (for the dtype), ``info()`` epochs run and final loss."""

    def __init__(self, data: Data):
        self.data = data
        self.epochs = 0

    def new(self, epochs: int, seed: int) -> None:
        raise NotImplementedError

    def fit(self) -> None:
        raise NotImplementedError

    def proba(self) -> np.ndarray:
        raise NotImplementedError

    def first_weight(self) -> np.ndarray:
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """``epochs_run`` and ``final_loss`` (mean training loss of the last epoch)."""
        raise NotImplementedError

    def enter(self) -> None:
        """Called first in the untimed preparation of every timed fit."""

    def exit(self) -> None:
        """Called last in the untimed scoring after every timed fit."""


class FastdnnImpl(Impl):
    def __init__(self, data: Data, hidden: tuple[int, ...]):
        super().__init__(data)
        self.hidden = hidden

    def build_model(self, seed: int) -> Sequential:
        d = self.data
        layers = [Input(d.n), adapted_normalizer(d.Xtr)]
        layers += [Dense(h, activation="relu") for h in self.hidden]
        layers.append(Dense(d.n_out, activation=d.output))
        model = Sequential(layers, dtype=DTYPE, seed=seed)
        model.compile(optimizer=Adam(LR), loss=d.loss)
        return model

    def initial_params(self, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(W1, b1), ...]`` a fresh model starts from (for the NumPy reference)."""
        model = self.build_model(seed)
        model.build()
        return [(l.W.copy(), l.b.copy()) for l in model.layers if isinstance(l, Dense)]

    def new(self, epochs: int, seed: int) -> None:
        self.model, self.epochs, self.seed = self.build_model(seed), epochs, seed
        self.history = None

    def fit(self) -> None:
        self.history = self.model.fit(self.data.Xtr, self.data.ytr, epochs=self.epochs,
                                      batch_size=BATCH, shuffle=True, seed=self.seed, verbose=0)

    def proba(self) -> np.ndarray:
        return self.model.predict(self.data.Xte)

    def first_weight(self) -> np.ndarray:
        return next(l.W for l in self.model.layers if isinstance(l, Dense))

    def info(self) -> dict[str, Any]:
        losses = self.history.history["loss"]
        return {"epochs_run": len(losses), "final_loss": float(losses[-1])}


class SklearnImpl(Impl):
    def __init__(self, data: Data, hidden: tuple[int, ...]):
        super().__init__(data)
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        self.MLPClassifier, self.ConvergenceWarning = MLPClassifier, ConvergenceWarning
        self.hidden = hidden

    def new(self, epochs: int, seed: int) -> None:
        self.epochs = epochs
        self.clf = self.MLPClassifier(
            hidden_layer_sizes=self.hidden, activation="relu", solver="adam", batch_size=BATCH,
            learning_rate_init=LR, max_iter=epochs, shuffle=True, tol=0,
            n_iter_no_change=epochs + 1, early_stopping=False, alpha=0, random_state=seed)

    def fit(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self.ConvergenceWarning)
            self.clf.fit(self.data.Xtr_n, self.data.ytr)

    def proba(self) -> np.ndarray:
        if not np.array_equal(self.clf.classes_, np.arange(self.data.k)):
            raise RuntimeError(f"sklearn classes_ {self.clf.classes_} are not 0..k-1")
        P = self.clf.predict_proba(self.data.Xte_n)
        return P[:, 1:] if self.data.binary else P    # [1 - p, p]: p itself

    def first_weight(self) -> np.ndarray:
        return self.clf.coefs_[0]

    def info(self) -> dict[str, Any]:
        return {"epochs_run": int(self.clf.n_iter_), "final_loss": float(self.clf.loss_curve_[-1])}


class NumpyImpl(Impl):
    """``fastdnn.reference.train`` as ``fastdnn/_demo.py`` calls it."""

    def __init__(self, data: Data, fast: FastdnnImpl):
        super().__init__(data)
        self.fast = fast     # gives the initial weights
        self.acts = ["relu"] * len(fast.hidden) + [data.output]
        self.A0 = np.ascontiguousarray(data.Xtr_n.T)            # (n, m), as the demo makes it
        m = data.Xtr.shape[0]
        if data.binary:
            self.Y = data.ytr.reshape(1, -1).astype(DTYPE)
        else:
            self.Y = np.ascontiguousarray(np.eye(data.k, dtype=DTYPE)[data.ytr].T)
        self.m = m

    def new(self, epochs: int, seed: int) -> None:
        self.epochs, self.params, self.costs = epochs, None, None
        self.initial = self.fast.initial_params(seed)
        self.rng = np.random.default_rng(seed)

    def fit(self) -> None:
        rng = self.rng
        # the reference's float32 sigmoid overflows, its cost takes log(0): no warnings
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            self.params, self.costs = reference.train(
                self.A0, self.Y, self.initial, self.acts, loss=self.data.loss,
                optimizer="adam", learning_rate=LR, epochs=self.epochs, batch_size=BATCH,
                permutations=lambda epoch: rng.permutation(self.m))

    def proba(self) -> np.ndarray:
        with np.errstate(over="ignore"):
            return reference.network_forward(np.ascontiguousarray(self.data.Xte_n.T),
                                             self.params, self.acts)[-1].T

    def first_weight(self) -> np.ndarray:
        return self.params[0][0]

    def info(self) -> dict[str, Any]:
        steps = -(-self.m // BATCH)
        sizes = np.full(steps, BATCH, dtype=np.float64)
        sizes[-1] = self.m - BATCH * (steps - 1)
        last = self.costs[-steps:]
        return {"epochs_run": len(self.costs) // steps,
                "final_loss": float(np.dot(last, sizes) / sizes.sum())}


class TorchImpl(Impl):
    def __init__(self, torch: Any, data: Data, hidden: tuple[int, ...],
                 threads: int | None = None):
        super().__init__(data)
        self.torch, self.hidden = torch, hidden
        self.threads, self.saved_threads = threads, None
        self.x = torch.from_numpy(data.Xtr_n)
        self.x_test = torch.from_numpy(data.Xte_n)
        if data.binary:
            self.y = torch.from_numpy(data.ytr.astype(DTYPE).reshape(-1, 1))
            self.loss_fn = torch.nn.BCEWithLogitsLoss()
        else:
            self.y = torch.from_numpy(data.ytr.astype(np.int64))
            self.loss_fn = torch.nn.CrossEntropyLoss()

    def new(self, epochs: int, seed: int) -> None:
        torch, nn = self.torch, self.torch.nn
        torch.manual_seed(seed)
        layers: list[Any] = []
        n = self.data.n
        for h in self.hidden:
            layers += [nn.Linear(n, h), nn.ReLU()]
            n = h
        layers.append(nn.Linear(n, self.data.n_out))
        self.model = nn.Sequential(*layers)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.gen = torch.Generator().manual_seed(seed)
        self.epochs, self.epoch_losses = epochs, []

    def fit(self) -> None:
        torch, model, opt, loss_fn = self.torch, self.model, self.opt, self.loss_fn
        x, y, m = self.x, self.y, self.x.shape[0]
        model.train()
        for _ in range(self.epochs):
            perm = torch.randperm(m, generator=self.gen)
            running = 0.0
            for s in range(0, m, BATCH):
                idx = perm[s:s + BATCH]
                opt.zero_grad()
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
                running += loss.item() * len(idx)
            self.epoch_losses.append(running / m)

    def proba(self) -> np.ndarray:
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            z = self.model(self.x_test)
            P = torch.sigmoid(z) if self.data.binary else torch.softmax(z, dim=1)
        return P.numpy()

    def first_weight(self) -> np.ndarray:
        return self.model[0].weight.detach().numpy()

    def info(self) -> dict[str, Any]:
        return {"epochs_run": len(self.epoch_losses), "final_loss": float(self.epoch_losses[-1])}

    def enter(self) -> None:
        if self.threads is not None:
            self.saved_threads = self.torch.get_num_threads()
            self.torch.set_num_threads(self.threads)

    def exit(self) -> None:
        if self.saved_threads is not None:
            self.torch.set_num_threads(self.saved_threads)
            self.saved_threads = None


def sklearn_available() -> bool:
    try:
        import sklearn.neural_network  # noqa: F401
    except ImportError:
        return False
    return True


def implementations(data: Data, problem: Problem, cfg: Config) -> dict[str, Impl]:
    """fastdnn, sklearn (if installed), numpy, torch (if installed; also with 1 thread when
    it has more), in timing order."""
    fast = FastdnnImpl(data, problem.hidden)
    impls: dict[str, Impl] = {"fastdnn": fast}
    if sklearn_available():
        impls["sklearn"] = SklearnImpl(data, problem.hidden)
    impls["numpy"] = NumpyImpl(data, fast)
    if cfg.torch is not None:
        impls["torch"] = TorchImpl(cfg.torch, data, problem.hidden)
        if cfg.torch.get_num_threads() != 1:
            impls["torch 1 thread"] = TorchImpl(cfg.torch, data, problem.hidden, threads=1)
    return impls


# ------------------------------------------------------------------- cases

class Runs:
    """The untimed hooks of one case: warm-up and fresh model before each timed
    fit, scoring after it; results collected in ``runs`` and the case params."""

    def __init__(self, impls: dict[str, Impl], data: Data, epochs: int, runs: dict):
        self.impls, self.data, self.epochs, self.runs = impls, data, epochs, runs

    def before(self, name: str) -> Callable[[], None]:
        impl = self.impls[name]

        def prepare() -> None:
            seed = SEED + len(self.runs.get(name, {}).get("test_acc", []))   # run r: seed r
            impl.enter()
            impl.new(WARMUP_EPOCHS, seed)    # a throwaway model: warm-up fit of 1 epoch
            impl.fit()
            impl.new(self.epochs, seed)      # the fresh model the timed call trains
        return prepare

    def after(self, name: str) -> Callable[[], np.ndarray]:
        impl = self.impls[name]

        def score() -> np.ndarray:
            P = impl.proba()
            acc = float(np.mean(predicted_classes(np.asarray(P)) == self.data.yte))
            rec = self.runs.setdefault(name, {"seed": [], "test_acc": [], "final_loss": [],
                                              "epochs_run": []})
            rec["seed"].append(SEED + len(rec["test_acc"]))
            rec["test_acc"].append(acc)
            for key, value in impl.info().items():
                rec[key].append(value)
            W = np.asarray(impl.first_weight())
            rec["param_dtype"] = str(W.dtype)
            impl.exit()
            return W
        return score


def summarize(runs: dict, extras: dict, epochs: int) -> tuple[list[str], list[str]]:
    """Fill the extra columns (median accuracy, its difference to fastdnn, final loss)
    from the runs; return failures (a run stopped early, fastdnn's loss is not finite)
    and notes (another implementation's loss is not finite)."""
    failures, notes = [], []
    acc = {name: statistics.median(rec["test_acc"]) for name, rec in runs.items()}
    for name, rec in runs.items():
        extras[name] = {
            "test acc": round(acc[name], 4),
            "Δacc pts": round(100 * (acc[name] - acc["fastdnn"]), 2) if "fastdnn" in acc else None,
            "train loss": float(f"{np.median(rec['final_loss']):.4g}")}
        short = [e for e in rec["epochs_run"] if e != epochs]
        if short:
            failures.append(f"{name} ran {short} epochs instead of {epochs}")
        if not all(np.isfinite(rec["final_loss"])):
            (failures if name == "fastdnn" else notes).append(
                f"{name} final training loss is not finite: {rec['final_loss']}")
    return failures, notes


def epochs_and_repeats(cfg: Config) -> tuple[int, int]:
    """E and the timed fits per implementation of this run (full, ``--quick``, ``--smoke``)."""
    if cfg.smoke:
        return SMOKE_EPOCHS, QUICK_REPEATS
    return (QUICK_EPOCHS, QUICK_REPEATS) if cfg.quick else (EPOCHS, REPEATS)


def make_case(problem: Problem, cfg: Config) -> Case:
    """A run case: one timed fit per call, per implementation."""
    data, data_failures = make_data(problem)
    epochs, repeats = epochs_and_repeats(cfg)
    impls = implementations(data, problem, cfg)
    runs: dict[str, dict] = {}
    hooks = Runs(impls, data, epochs, runs)
    dims = [data.n, *problem.hidden, data.n_out]
    name = f"{problem.dataset.replace('_', '-')} {'-'.join(map(str, dims))} {data.output}"
    ratios = tuple(Ratio(f"{impl}/fastdnn", impl, "fastdnn") for impl in impls if impl != "fastdnn")
    m_train = data.Xtr.shape[0]
    params: dict[str, Any] = {
        "dataset": data.description, "m_train": m_train, "m_test": data.Xte.shape[0],
        "n_features": data.n, "classes": data.k, "layers": dims, "hidden": "relu",
        "output": data.output, "loss": data.loss, "optimizer": "adam", "learning_rate": LR,
        "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "batch_size": BATCH,
        "steps_per_epoch": -(-m_train // BATCH), "epochs": epochs, "repeats": repeats,
        "warmup_epochs": WARMUP_EPOCHS, "shuffle": True, "early_stopping": False, "l2": 0.0,
        "seeds": "timed run r: seed r (split: seed 0)",
        "normalization": "Normalizer layer (fastdnn), the same float32 arrays (others)",
        "init": {impl: INIT[impl] for impl in impls},
        "versions": _versions(cfg), "runs": runs}
    extras: dict[str, dict[str, Any]] = {}

    def check() -> list[str]:
        failures, notes = summarize(runs, extras, epochs)
        case.notes.extend(notes)
        return data_failures + failures

    case = Case(SECTION, name, np.dtype(DTYPE).name, epochs,
                {impl: obj.fit for impl, obj in impls.items()}, ratios, params=params,
                reference="fastdnn", repeats=repeats,
                before={impl: hooks.before(impl) for impl in impls},
                after={impl: hooks.after(impl) for impl in impls},
                extras=extras, unit="epoch", check=check)
    return case


def _versions(cfg: Config) -> dict[str, str | None]:
    out: dict[str, str | None] = {"fastdnn": fastdnn.__version__, "numpy": np.__version__}
    try:
        import sklearn
        out["sklearn"] = sklearn.__version__
    except ImportError:
        out["sklearn"] = None
    torch = cfg.torch
    out["torch"] = None if torch is None else \
        f"{torch.__version__} ({torch.get_num_threads()} threads)"
    return out


def cases(cfg: Config) -> Iterator[Case]:
    """The digits case (the demo's configuration), then breast-cancer; N is the epoch count."""
    for problem in PROBLEMS:
        yield make_case(problem, cfg)
