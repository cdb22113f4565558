"""A Keras-style network trained by ``fit``'s compiled loop vs the same network in PyTorch.

The network, ``[n_x, 512, 512, 10]``, as a Keras user writes it::

    Sequential([Input(n_x),
                Dense(512), BatchNormalization(), Activation("gelu"),
                Dense(512), BatchNormalization(), Activation("gelu"),
                Dense(10, activation="softmax")])
    compile(AdamW(learning_rate=1e-3, weight_decay=1e-2), "categorical_crossentropy")

and in PyTorch: ``nn.Linear``, ``nn.BatchNorm1d(512, eps=1e-3, momentum=0.01)``
(Keras' ``epsilon`` and ``momentum = 1 - 0.99``), ``nn.GELU()`` (the exact, erf
form, as fastdnn's ``"gelu"``), a last ``nn.Linear`` whose logits go to
``nn.CrossEntropyLoss`` (softmax + categorical cross-entropy, the same maths), and
``torch.optim.AdamW(lr=1e-3, weight_decay=1e-2)``. float32, mini-batches of
128 (the last one partial), a new shuffle every epoch, each library's default
initial weights; both compute the loss of every batch (fastdnn's history,
``loss.item()`` in torch).

Two cases (run cases, see ``_case.measure_runs``):

* ``synthetic 784-512-512-10 gelu+bn`` -- time per training step: one epoch of
  64 steps (``--smoke``: 4) over ``128 * steps`` seeded ``N(0, 1)`` examples of
  784 features with labels from a random linear teacher (10 classes). fastdnn:
  ``fit(X, Y, epochs=1, batch_size=128, engine="compiled")`` (checked:
  ``history.engine == "compiled"``); torch: a loop over ``torch.randperm``. Each
  implementation keeps one model; every timed epoch follows an untimed one
  (warm-up: caches, plan buffers, a previous implementation's spinning threads
  gone quiet), 5 timed epochs each (``--quick`` 3, ``--smoke`` 1), taking turns;
  the median is reported, per step. fastdnn's time includes what ``fit`` does
  around the steps (validation of the arguments, the plan's set-up, the history).
* ``digits 64-512-512-10 gelu+bn`` -- accuracy: the same network on
  scikit-learn's digits (64 features; ``train.make_data``'s 75/25 split and
  normalized arrays, given to both libraries), 20 epochs (``--quick`` 10,
  ``--smoke`` 2) from a fresh model per run (run r: seed r), 3 runs (``--quick``,
  ``--smoke``: 1); ``test acc`` is the median test accuracy (argmax of the
  class probabilities, BatchNormalization in inference mode), ``Δacc pts`` torch's
  minus fastdnn's in percentage points, ``|Δacc pts|`` its size; N is the number of
  steps of the E epochs (11 per epoch), so that the report shows the time per step here too.

``torch`` runs with the thread count ``bench/run.py`` gives it (fastdnn's);
``torch 1 thread`` (when that is more than one) with ``torch.set_num_threads(1)``
during its fits, for a view of torch at its best on a busy 2-core machine.
"""
from __future__ import annotations

import statistics
from typing import Any, Iterator

import numpy as np

from fastdnn.layers import Activation, BatchNormalization, Dense, Input
from fastdnn.models import Sequential
from fastdnn.optimizers import AdamW
from _case import Case, Config, Ratio
from sections.train import Problem, make_data, predicted_classes

SECTION = "keras"
DTYPE = np.float32
SEED = 0
HIDDEN, CLASSES = (512, 512), 10
BATCH = 128
LR, WEIGHT_DECAY = 1e-3, 1e-2
BN_MOMENTUM, BN_EPSILON = 0.99, 1e-3       # Keras' defaults (fastdnn's too)
N_X = 784
STEPS, SMOKE_STEPS = 64, 4                 # steps of the timed epoch
STEP_REPEATS, QUICK_STEP_REPEATS, SMOKE_STEP_REPEATS = 5, 3, 1
EPOCHS, QUICK_EPOCHS, SMOKE_EPOCHS = 20, 10, 2     # digits
ACC_REPEATS, QUICK_ACC_REPEATS = 3, 1
TORCH1 = "torch 1 thread"


def fastdnn_model(n_x: int, seed: int) -> Sequential:
    """The Keras-style network, compiled with AdamW and categorical cross-entropy."""
    layers: list[Any] = [Input(n_x)]
    for units in HIDDEN:
        layers += [Dense(units), BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON),
                   Activation("gelu")]
    layers.append(Dense(CLASSES, activation="softmax"))
    model = Sequential(layers, dtype=DTYPE, seed=seed)
    model.compile(optimizer=AdamW(learning_rate=LR, weight_decay=WEIGHT_DECAY),
                  loss="categorical_crossentropy")
    return model


class FastdnnNet:
    """``fit(engine="compiled")`` of :func:`fastdnn_model` on rows ``X`` (m, n_x)."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        self.X, self.Y = X, np.eye(CLASSES, dtype=DTYPE)[y]      # one-hot rows
        self.engines: list[str | None] = []
        self.losses: list[float] = []
        self.new(SEED)

    def new(self, seed: int) -> None:
        self.model, self.seed, self.fits = fastdnn_model(self.X.shape[1], seed), seed, 0

    def fit(self, epochs: int) -> None:
        history = self.model.fit(self.X, self.Y, epochs=epochs, batch_size=BATCH, shuffle=True,
                                 seed=self.seed + 1000 * self.fits, verbose=0,
                                 engine="compiled")
        self.fits += 1
        self.engines.append(history.engine)
        self.losses.append(float(history.history["loss"][-1]))

    def proba(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(X))

    def first_weight(self) -> np.ndarray:
        return next(l.W for l in self.model.layers if isinstance(l, Dense))


class TorchNet:
    """The same network in torch, trained by a DataLoader-free loop over ``randperm``."""

    def __init__(self, torch: Any, X: np.ndarray, y: np.ndarray, threads: int | None = None):
        self.torch, self.threads = torch, threads
        self.saved: int | None = None
        self.x, self.y = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.losses: list[float] = []
        self.new(SEED)

    def new(self, seed: int) -> None:
        torch, nn = self.torch, self.torch.nn
        torch.manual_seed(seed)
        layers: list[Any] = []
        n = self.x.shape[1]
        for units in HIDDEN:
            layers += [nn.Linear(n, units),
                       nn.BatchNorm1d(units, eps=BN_EPSILON, momentum=1 - BN_MOMENTUM),
                       nn.GELU()]
            n = units
        layers.append(nn.Linear(n, CLASSES))
        self.model = nn.Sequential(*layers)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        self.gen = torch.Generator().manual_seed(seed)

    def fit(self, epochs: int) -> None:
        torch, model, opt, loss_fn = self.torch, self.model, self.opt, self.loss_fn
        x, y, m = self.x, self.y, self.x.shape[0]
        model.train()
        for _ in range(epochs):
            perm = torch.randperm(m, generator=self.gen)
            running = 0.0
            for s in range(0, m, BATCH):
                idx = perm[s:s + BATCH]
                opt.zero_grad()
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
                running += loss.item() * len(idx)
            self.losses.append(running / m)

    def proba(self, X: np.ndarray) -> np.ndarray:
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            P = torch.softmax(self.model(torch.from_numpy(X)), dim=1)
        return np.asarray(P.numpy())

    def first_weight(self) -> np.ndarray:
        return np.asarray(self.model[0].weight.detach().numpy())

    def enter(self) -> None:
        if self.threads is not None:
            self.saved = self.torch.get_num_threads()
            self.torch.set_num_threads(self.threads)

    def exit(self) -> None:
        if self.saved is not None:
            self.torch.set_num_threads(self.saved)
            self.saved = None


Net = FastdnnNet | TorchNet


def implementations(cfg: Config, X: np.ndarray, y: np.ndarray) -> dict[str, Net]:
    """fastdnn, torch (when installed), torch with 1 thread (when it has more), in turn order."""
    impls: dict[str, Net] = {"fastdnn": FastdnnNet(X, y)}
    if cfg.torch is not None:
        impls["torch"] = TorchNet(cfg.torch, X, y)
        if cfg.torch.get_num_threads() != 1:
            impls[TORCH1] = TorchNet(cfg.torch, X, y, threads=1)
    return impls


def _enter(net: Net) -> None:
    if isinstance(net, TorchNet):
        net.enter()


def _exit(net: Net) -> None:
    if isinstance(net, TorchNet):
        net.exit()


def _failures(impls: dict[str, Net]) -> list[str]:
    """fastdnn trained in another loop than the compiled one; a loss is not finite."""
    failures = []
    fast = impls["fastdnn"]
    assert isinstance(fast, FastdnnNet)
    other = [e for e in fast.engines if e != "compiled"]
    if other:
        failures.append(f"fastdnn fit ran engine {other[0]!r}, not 'compiled'")
    for name, net in impls.items():
        if not np.all(np.isfinite(net.losses)):
            failures.append(f"{name} training loss is not finite: {net.losses}")
    return failures


def _ratios(impls: dict[str, Net]) -> tuple[Ratio, ...]:
    labels = {"torch": "torch/fastdnn", TORCH1: "torch1/fastdnn"}
    return tuple(Ratio(labels[name], name, "fastdnn") for name in impls if name in labels)


def _versions(cfg: Config) -> dict[str, str | None]:
    import fastdnn
    torch = cfg.torch
    return {"fastdnn": fastdnn.__version__, "numpy": np.__version__,
            "torch": None if torch is None else
            f"{torch.__version__} ({torch.get_num_threads()} threads)"}


def _params(cfg: Config, dims: list[int], m: int, epochs: int, repeats: int) -> dict[str, Any]:
    return {"layers": dims, "hidden": "Dense -> BatchNormalization -> Activation('gelu')",
            "output": "softmax", "loss": "categorical_crossentropy",
            "optimizer": "AdamW", "learning_rate": LR, "weight_decay": WEIGHT_DECAY,
            "bn_momentum": BN_MOMENTUM, "bn_epsilon": BN_EPSILON, "batch_size": BATCH,
            "m_train": m, "steps_per_epoch": -(-m // BATCH), "epochs": epochs,
            "repeats": repeats, "engine": "compiled", "versions": _versions(cfg)}


def step_case(cfg: Config) -> Case:
    """Time per training step: one epoch per timed call, N = its steps."""
    steps = SMOKE_STEPS if cfg.smoke else STEPS
    repeats = SMOKE_STEP_REPEATS if cfg.smoke else \
        QUICK_STEP_REPEATS if cfg.quick else STEP_REPEATS
    rng = np.random.default_rng(SEED)
    m = BATCH * steps
    X = rng.standard_normal((m, N_X)).astype(DTYPE)
    teacher = rng.standard_normal((N_X, CLASSES))
    y = np.argmax(X @ teacher, axis=1)
    impls = implementations(cfg, X, y)
    extras: dict[str, dict[str, Any]] = {}

    def before(net: Net) -> Any:
        def prepare() -> None:
            _enter(net)
            if not cfg.smoke:
                net.fit(1)             # untimed warm-up epoch on the same model
        return prepare

    def after(name: str, net: Net) -> Any:
        def done() -> np.ndarray:
            _exit(net)
            extras[name] = {"train loss": float(f"{net.losses[-1]:.4g}")}
            if isinstance(net, FastdnnNet):
                extras[name]["engine"] = net.engines[-1]
            return net.first_weight()
        return done

    dims = [N_X, *HIDDEN, CLASSES]
    params = _params(cfg, dims, m, 1, repeats)
    params["data"] = "N(0, 1) features, labels argmax of a random linear teacher (seeded)"
    return Case(SECTION, f"synthetic {'-'.join(map(str, dims))} gelu+bn", np.dtype(DTYPE).name,
                steps, {name: (lambda net=net: net.fit(1)) for name, net in impls.items()},
                _ratios(impls), params=params, repeats=repeats,
                before={name: before(net) for name, net in impls.items()},
                after={name: after(name, net) for name, net in impls.items()},
                extras=extras, unit="step", check=lambda: _failures(impls))


def accuracy_case(cfg: Config) -> Case:
    """Test accuracy on digits after E epochs, fresh model per run; N = its steps."""
    epochs = SMOKE_EPOCHS if cfg.smoke else QUICK_EPOCHS if cfg.quick else EPOCHS
    repeats = QUICK_ACC_REPEATS if cfg.quick else ACC_REPEATS
    data, data_failures = make_data(Problem("digits", HIDDEN))
    impls = implementations(cfg, data.Xtr_n, data.ytr)
    acc: dict[str, list[float]] = {name: [] for name in impls}
    extras: dict[str, dict[str, Any]] = {}

    def before(name: str, net: Net) -> Any:
        def prepare() -> None:
            _enter(net)
            seed = SEED + len(acc[name])
            if not cfg.smoke:
                net.new(seed)
                net.fit(1)             # warm-up fit of a throwaway model
            net.new(seed)
        return prepare

    def after(name: str, net: Net) -> Any:
        def score() -> np.ndarray:
            P = net.proba(data.Xte_n)
            acc[name].append(float(np.mean(predicted_classes(P) == data.yte)))
            _exit(net)
            return net.first_weight()
        return score

    def check() -> list[str]:
        median = {name: statistics.median(a) for name, a in acc.items()}
        for name, net in impls.items():
            delta = 100 * (median[name] - median["fastdnn"])
            extras[name] = {"test acc": round(median[name], 4), "Δacc pts": round(delta, 2),
                            "|Δacc pts|": round(abs(delta), 2),
                            "train loss": float(f"{net.losses[-1]:.4g}")}
        return data_failures + _failures(impls)

    dims = [data.n, *HIDDEN, CLASSES]
    params = _params(cfg, dims, data.Xtr.shape[0], epochs, repeats)
    params.update(dataset=data.description, m_test=data.Xte.shape[0],
                  seeds="run r: seed r (split: seed 0)", accuracy=acc)
    return Case(SECTION, f"digits {'-'.join(map(str, dims))} gelu+bn", np.dtype(DTYPE).name,
                epochs * params["steps_per_epoch"],
                {name: (lambda net=net: net.fit(epochs)) for name, net in impls.items()},
                _ratios(impls), params=params, repeats=repeats,
                before={name: before(name, net) for name, net in impls.items()},
                after={name: after(name, net) for name, net in impls.items()},
                extras=extras, unit="step", check=check)


def cases(cfg: Config) -> Iterator[Case]:
    """The timed step (N = steps of one epoch), then the digits accuracy (N = the steps of
    its E epochs); both report the time per step."""
    yield step_case(cfg)
    yield accuracy_case(cfg)
