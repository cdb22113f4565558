"""``Sequential``: a stack of layers trained by mini-batch gradient descent.

Data come in the layout NumPy, scikit-learn and Keras users pass:
``X (m, n_features)``, ``y (m,)``, ``(m, 1)`` or one-hot ``(m, k)``. Inside,
the lecture's layout is used without copying ``X``: the transpose of a
C-ordered ``(m, n)`` batch is an F-ordered ``(n, m)`` matrix with one column
per example, which the compiled dense kernels take as is.

Examples
--------
>>> import numpy as np
>>> from fastdnn.layers import Dense
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 2)).astype(np.float32)
>>> y = (X[:, 0] * X[:, 1] > 0).astype(np.float32)
>>> model = Sequential([Dense(8, activation="tanh"), Dense(1, activation="sigmoid")], seed=0)
>>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
>>> history = model.fit(X, y, epochs=5, batch_size=32, verbose=0, seed=0)
>>> len(history.history["loss"]), model.predict(X).shape
(5, (200, 1))
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

from . import callbacks as _callbacks
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers
from . import _inference, _summary, _training
from ._validation import check_choice as _check_choice
from ._validation import as_matrix as _as_matrix, check_int as _check_int
from ._validation import check_range as _check_range
from ._validation import check_sample_weight as _check_sample_weight
from .layers import Dense, Input, Layer, get as _get_layer
from .layers import serialize as _serialize_layer

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping

    from numpy.typing import ArrayLike, DTypeLike

    from . import distributed as _distributed
    from ._kernels import _network

__all__ = ["Sequential"]


class Sequential:
    """A linear stack of layers (Keras' ``Sequential``).

    Parameters
    ----------
    layers : list of Layer, optional
        ``Input(n)`` first (or ``input_dim=`` on the first ``Dense``) fixes the
        number of features; otherwise it is taken from the first ``fit``.
    dtype : {"float32", "float64"}, default "float32"
        Parameters and computations; inputs of other dtypes are cast per batch.
    seed : int, optional
        Seeds the weight initialization (and dropout masks): same seed, same
        weights. Without it ``fit(seed=...)`` seeds them when it builds the model.
    name : str, optional

    Examples
    --------
    >>> from fastdnn.layers import Dense, Input
    >>> model = Sequential([Input(4), Dense(3, activation="relu"), Dense(2, activation="softmax")])
    >>> model.count_params()
    23
    """

    def __init__(self, layers: Iterable[Layer] | None = None, dtype: DTypeLike = "float32",
                 seed: int | None = None, name: str | None = None):
        dt = np.dtype(dtype) if isinstance(dtype, (str, type, np.dtype)) else None
        if dt is None or dt not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
        if seed is not None:
            _check_int(seed, "seed", 0)
        self.dtype = dt
        self.seed = seed
        self.name = name
        self.layers: list[Layer] = []
        self.optimizer: _optimizers.Optimizer | None = None
        self.loss: Any = None
        self.metrics: list[_metrics.Metric] = []
        self.compiled = True
        self._plan_cache: tuple[Any, ...] | None = None
        # (plan, its layers, their W, their kernels): see _inference.plan
        self._fast_predict: tuple[_network.Forward, tuple[Layer, ...], tuple[np.ndarray, ...],
                                  tuple[Any, ...]] | None = None
        self.history: _callbacks.History | None = None
        self.stop_training = False
        self.n_features: int | None = None
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------ structure
    def add(self, layer: Layer) -> None:
        """Append a layer (before the model is built).

        Examples
        --------
        >>> from fastdnn.layers import Dense
        >>> model = Sequential()
        >>> model.add(Dense(1))
        >>> len(model.layers)
        1
        """
        if not isinstance(layer, Layer):
            raise TypeError(f"layers must be fastdnn.layers.Layer instances, got "
                            f"{type(layer).__name__}")
        if self.built:
            raise ValueError("cannot add layers to a built model")
        if isinstance(layer, Input):
            if self.layers:
                raise ValueError("Input must be the first layer")
            self.n_features = layer.units
        elif isinstance(layer, Dense) and layer.input_dim is not None \
                and all(isinstance(l, Input) for l in self.layers):
            # input_dim / input_shape on the first Dense: an Input of that many features
            if self.n_features is not None and self.n_features != layer.input_dim:
                raise ValueError(f"{layer._label()} declares input_dim={layer.input_dim} but "
                                 f"the Input before it has {self.n_features} features")
            self.n_features = layer.input_dim
        if any(l is layer for l in self.layers):
            raise ValueError(f"layer {layer!r} is already in the model")
        self.layers.append(layer)

    @property
    def built(self) -> bool:
        """True once the parameters exist."""
        return bool(self.layers) and all(l.built for l in self.layers)

    @property
    def _compute_layers(self) -> list[Layer]:
        return [l for l in self.layers if not isinstance(l, Input)]

    @property
    def n_outputs(self) -> int | None:
        """Units of the last layer (None for a model of only shape-preserving layers)."""
        for layer in reversed(self._compute_layers):
            if isinstance(layer, Dense):
                return layer.units
        return self.n_features

    def build(self, n_features: int | tuple[int | None, ...] | None = None,
              rng: Any = None) -> None:
        """Create every layer's parameters for inputs of ``n_features`` columns.

        ``n_features`` may also be a Keras input shape, ``(None, n_features)`` or
        ``(n_features,)`` (the batch size is not fixed by the model).

        Examples
        --------
        >>> from fastdnn.layers import Dense
        >>> model = Sequential([Dense(2)], seed=1)
        >>> model.build(3)
        >>> model.layers[0].W.shape
        (2, 3)
        >>> model.build((None, 3))
        """
        if not self._compute_layers:
            raise ValueError("the model has no layers; add some before building it")
        if n_features is None:
            n_features = self.n_features
        if n_features is None:
            raise ValueError("the number of input features is unknown: pass n_features, start "
                             "with Input(n) or call fit")
        if isinstance(n_features, (tuple, list)):
            if len(n_features) not in (1, 2):
                raise ValueError("n_features as an input shape must be (batch, n_features) or "
                                 f"(n_features,), got {tuple(n_features)!r}")
            n_features = n_features[-1]
        n_features = _check_int(n_features, "n_features", 1)
        if self.n_features is not None and n_features != self.n_features:
            raise ValueError(f"the model was declared with {self.n_features} input features, "
                             f"got {n_features}")
        if self.seed is not None:
            rng = np.random.default_rng(self.seed)
        elif not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        n = n_features
        for layer in self._compute_layers:
            layer.build(n, self.dtype, rng)
            n = layer.units  # type: ignore[assignment]  # a built layer's units is an int
        for layer in self.layers:
            if isinstance(layer, Input):
                layer.built = True
        self.n_features = n_features

    # ------------------------------------------------------------ compile
    def compile(self, optimizer: str | _optimizers.Optimizer | Mapping[str, Any] = "adam",
                loss: _losses.LossLike = "binary_crossentropy",
                metrics: Sequence[_metrics.MetricLike] | None = None,
                compiled: bool = True) -> None:
        """Choose the optimizer, the loss and the metrics reported during ``fit``.

        Parameters
        ----------
        optimizer : str or Optimizer, default "adam"
            A name of :func:`fastdnn.optimizers.get` (``"gd"``, ``"sgd"``, ``"momentum"``,
            ``"rmsprop"``, ``"adam"``, ``"adamw"``, ``"nadam"``, ``"adagrad"``,
            ``"adamax"``) or an instance.
        loss : str or Loss, default "binary_crossentropy"
            ``"binary_crossentropy"`` (sigmoid output), ``"categorical_crossentropy"``
            (softmax output; integer or one-hot labels), ``"mse"`` (linear output).
        metrics : list of str, optional
            E.g. ``["accuracy"]``.
        compiled : bool, default True
            ``False`` makes ``fit(engine="auto")`` train layer by layer; with ``True``
            it takes the whole-network compiled loop (every mini-batch in one call,
            without Python) where the model allows it. ``fit``'s ``engine`` says
            which, and why.

        Examples
        --------
        >>> from fastdnn.layers import Dense
        >>> model = Sequential([Dense(1, activation="sigmoid")])
        >>> model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
        >>> type(model.optimizer).__name__
        'SGD'
        """
        opt = _optimizers.get(optimizer)
        loss_obj = _losses.get(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, (str, dict)) or not isinstance(metrics, (list, tuple)):
            raise TypeError(f"metrics must be a list, got {type(metrics).__name__}")
        metric_objs = [_metrics.get(m) for m in metrics]
        self.optimizer, self.loss, self.metrics = opt, loss_obj, metric_objs
        self.compiled = bool(compiled)

    def _require_compiled(self, what: str) -> None:
        if self.optimizer is None or self.loss is None:
            raise RuntimeError(f"call compile(optimizer, loss) before {what}")

    # ------------------------------------------------------------ input checks
    def _check_X(self, X: ArrayLike, name: str = "X") -> np.ndarray:
        X = _as_matrix(X, name)
        expected = self.n_features
        if expected is not None and X.shape[1] != expected:
            raise ValueError(f"{name} has {X.shape[1]} features per example (shape {X.shape}), "
                             f"but the model expects {expected}")
        _check_range(X, self.dtype, name)   # values the model's dtype would make infinite
        return X

    def _check_y(self, y: Any, m: int, name: str = "y", x_name: str = "X") -> np.ndarray:
        """Targets as a C-ordered (m, n_outputs) array of the model's dtype."""
        if y is None:
            raise ValueError(f"{name} is required")
        if np.ndim(y) == 0:
            raise TypeError(f"{name} must be an array with one target per example of "
                            f"{x_name}, got {type(y).__name__} {y!r}")
        n_y = len(y)
        if n_y != m:
            raise ValueError(f"{name} has {n_y} rows but {x_name} has {m}: one target per "
                             f"example")
        Y: np.ndarray = self.loss.prepare_targets(y, self.n_outputs, self.dtype, name)
        return np.ascontiguousarray(Y, dtype=self.dtype)

    # ------------------------------------------------------------ training
    def fit(self, X: ArrayLike, y: ArrayLike, epochs: int = 1, batch_size: int | None = 32,
            validation_data: tuple[ArrayLike, ...] | None = None,
            validation_split: float = 0.0,
            shuffle: bool = True, seed: int | None = None,
            callbacks: Sequence[_callbacks.Callback] | None = None, verbose: int = 1,
            initial_epoch: int = 0, check_finite: bool = True,
            engine: str = "auto", on_nan: str = "warn",
            sample_weight: ArrayLike | None = None,
            class_weight: Mapping[int, float] | None = None,
            validation_freq: int = 1,
            distribute: _distributed.MPI | None = None) -> _callbacks.History:
        """Train by mini-batch gradient descent.

        Parameters
        ----------
        X : array, shape (m, n_features)
            May be a ``numpy.memmap``: batches are gathered row by row into one
            preallocated buffer, ``X`` is never copied as a whole.
        y : array, shape (m,), (m, 1) or (m, k)
            0/1 labels, integer class labels or one-hot rows, or real targets.
        epochs : int, default 1
        batch_size : int or None, default 32
            ``None`` is batch gradient descent (one batch of all m examples),
            1 is stochastic gradient descent. The last partial batch is used.
        validation_data : (X_val, y_val) or (X_val, y_val, sample_weight_val), optional
        validation_split : float in [0, 1), default 0
            Fraction of the last rows of ``X``/``y`` (and ``sample_weight``) held out
            (before shuffling).
        shuffle : bool, default True
            A new permutation of the examples each epoch.
        seed : int, optional
            Seeds the shuffling (and the weights, if the model is built here).
        callbacks : list of Callback, optional
        verbose : {0, 1, 2}, default 1
            0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        initial_epoch : int, default 0
            Epoch to resume at (Keras' meaning: epochs ``initial_epoch`` to
            ``epochs - 1`` run; schedules see the true epoch number).
        check_finite : bool, default True
            Reject NaN/inf in ``X`` before training.
        engine : {"auto", "compiled", "python"}, default "auto"
            ``"compiled"`` trains in the whole-network compiled loop (every
            mini-batch in one call, without Python) and raises ``ValueError``
            naming each reason when the model cannot run there (layers other than
            ``Dense``, each optionally followed by a ``BatchNormalization`` or
            ``LayerNormalization`` and an ``Activation``, optionally after a
            ``Normalizer``; a loss, optimizer or metric
            without a compiled kernel, such as a subclass that overrides the
            maths; callbacks run after every mini-batch). ``"python"`` trains layer
            by layer. ``"auto"`` takes the compiled loop where it can (unless
            ``compile(..., compiled=False)``). Both give the same results to
            rounding; ``history.engine`` says which ran, and ``verbose`` prints it.
        on_nan : {"warn", "raise", "continue"}, default "warn"
            What a mini-batch whose cost is NaN or infinite (divergence: a learning
            rate too large for the data) does. ``"warn"`` stops training there,
            before that batch's update, keeps the last finite weights and optimizer
            state (or, should they no longer be finite, those fit started from) and
            warns (``RuntimeWarning``) naming the epoch and step; ``"raise"`` does the
            same but raises ``FloatingPointError``; ``"continue"`` trains on and the
            weights follow the loss (as Keras and PyTorch do without a check), with a
            warning once per fit. ``History`` holds the costs of the steps taken.
        sample_weight : array, shape (m,), optional
            One weight (finite, >= 0) per example, as in Keras: the cost of a
            mini-batch of ``k`` examples is ``sum_j w_j L_j / k`` (Keras'
            ``"sum_over_batch_size"``: divided by the number of examples, not by the
            weights' sum), the gradient scales each example's ``dZ`` by ``w_j``, and
            each metric is its weighted mean ``sum_j w_j v_j / sum_j w_j``. A weight of
            2 counts the example twice; all ones is the unweighted fit. Both engines
            take it.
        class_weight : dict {class: weight}, optional
            Keras' class weights: every example weighs its class's weight (1 for a
            class not in the dict); the class is the argmax of its one-hot target, or
            the 0/1 label of a one-unit output. Not with ``sample_weight``; the
            validation data stay unweighted.
        validation_freq : int, default 1
            Validate after every ``validation_freq``-th epoch (Keras' rule: epoch
            ``e``, counted from 1, validates when ``e % validation_freq == 0``). The
            logs of the other epochs have no ``val_*`` keys, so ``History``'s ``val_*``
            lists are shorter; callbacks monitoring a ``val_*`` metric skip those
            epochs without a warning, and ``CSVLogger`` writes ``NA`` there.

        distribute : fastdnn.distributed.MPI, optional
            Train on every rank of an MPI job (``mpiexec -n P python train.py``):
            each rank reads its shard of ``X``/``y`` (and ``sample_weight``;
            contiguous rows; ``batch_size`` is per rank), gradients are averaged over
            the ranks after each backward, and rank 0 alone prints and runs the
            callbacks. See ``fastdnn.distributed``.

        Returns
        -------
        History
            ``history.history["loss"]`` per epoch (and metrics, ``val_*``,
            ``learning_rate``); ``history.batch_loss`` the cost of every mini-batch.
        """
        self._require_compiled("fit")
        _check_choice(engine, "engine", _training.ENGINES)
        _check_choice(on_nan, "on_nan", _training.ON_NAN)
        epochs = _check_int(epochs, "epochs", 0)
        initial_epoch = _check_int(initial_epoch, "initial_epoch", 0)
        if initial_epoch > epochs:
            raise ValueError(f"initial_epoch ({initial_epoch}) must be <= epochs ({epochs}): "
                             "epochs is the number of the last epoch, as in Keras")
        verbose = _check_int(verbose, "verbose", 0)
        if verbose > 2:
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose}")
        if seed is not None:
            _check_int(seed, "seed", 0)
        validation_freq = _check_int(validation_freq, "validation_freq", 1)
        if distribute is not None:
            return distribute._fit(  # type: ignore[no-any-return]  # the History of this fit
                self, X, y, validation_data, validation_split, check_finite,
                (sample_weight, class_weight),
                (epochs, batch_size, shuffle, seed, callbacks, verbose, initial_epoch, engine,
                 on_nan), validation_freq)
        X, Y, X_val, Y_val, w, w_val = _training.fit_data(
            self, X, y, validation_data, validation_split, check_finite, sample_weight,
            class_weight)
        return _training.fit(  # type: ignore[no-any-return]  # the History of this fit
            self, X, Y, X_val, Y_val, epochs, batch_size, shuffle, seed, callbacks, verbose,
            initial_epoch, engine, on_nan, w, w_val, validation_freq)

    # ------------------------------------------------------------ inference
    def _inference_plan(self, k: int) -> Any:
        """The cached compiled forward pass for ``k`` examples, or None (see ``_inference``)."""
        return _inference.plan(self, k)

    def _require_built(self, what: str) -> None:
        if not self.built:
            raise RuntimeError(f"the model has no weights yet: call fit (or build) before {what}")

    def predict(self, X: ArrayLike, batch_size: int | None = None, verbose: int = 0
                ) -> np.ndarray:
        """Outputs of the last layer, shape ``(m, n_outputs)``.

        ``batch_size`` rows are pushed through at a time (default: as many as
        keep each layer's activations near 16 MB).

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.layers import Dense
        >>> model = Sequential([Dense(1, activation="sigmoid")], seed=0)
        >>> model.build(2)
        >>> model.predict(np.zeros((3, 2))).ravel().tolist()
        [0.5, 0.5, 0.5]
        """
        fast = self._fast_predict
        if fast is not None and batch_size is None:
            # the low-latency path: small float inputs through the cached compiled plan,
            # if its layers still hold the arrays and activations it was made from
            out = fast[0].predict_current(X, fast[1], fast[2], fast[3])
            if out is not None:
                return out
        self._require_built("predict")
        X = self._check_X(X)
        m = X.shape[0]
        rows = _inference.chunk_rows(self, batch_size)
        if m <= rows:
            return _inference.forward(self, X).T
        out = np.empty((m, self.n_outputs),  # type: ignore[arg-type]  # built: an int
                       dtype=self.dtype)
        for s in range(0, m, rows):
            out[s:s + rows] = _inference.forward(self, X[s:s + rows]).T
        return out

    def __call__(self, X: ArrayLike, training: bool = False) -> np.ndarray:
        """``model(X)``: the outputs, as ``predict(X)`` returns them.

        Keras' ``model(x)`` returns a tensor of its backend, recorded for
        automatic differentiation; here it is the NumPy array ``predict`` returns
        (``(m, n_outputs)``, the model's dtype), with no gradient attached: training
        happens in ``fit``. ``training=True`` runs the layers as in training
        (``Dropout`` drops units; the weights do not change).

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.layers import Dense
        >>> model = Sequential([Dense(2, input_shape=(3,))], seed=0)
        >>> model.build()
        >>> X = np.ones((4, 3), np.float32)
        >>> bool((model(X) == model.predict(X)).all())
        True
        """
        if not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"training must be a bool, got {type(training).__name__}")
        if not training:
            return self.predict(X)
        self._require_built("model(X, training=True)")
        A = np.ascontiguousarray(self._check_X(X), dtype=self.dtype).T
        for layer in self._compute_layers:
            A = layer.forward(A, training=True)
        # the layers' training buffers are reused by the next pass: a copy of the outputs
        return np.array(A.T, order="C")

    def _is_classifier(self) -> bool:
        return getattr(self.loss, "fused_activation", None) in ("sigmoid", "softmax") or \
            isinstance(self.loss, (_losses.BinaryCrossentropy, _losses.CategoricalCrossentropy))

    def _probabilities(self, X: ArrayLike, batch_size: int | None) -> np.ndarray:
        """``predict``, through the sigmoid or softmax when the loss reads logits."""
        P = self.predict(X, batch_size)
        if getattr(self.loss, "from_logits", False):
            from . import functional
            if isinstance(self.loss, _losses.BinaryCrossentropy):
                return functional.sigmoid(P)
            return functional.softmax(P, axis=1)
        return P

    def predict_proba(self, X: ArrayLike, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities, shape ``(m, n_classes)`` (scikit-learn's convention:
        a one-unit sigmoid output gives two columns ``[1 - p, p]``). A cross-entropy
        ``from_logits`` turns the logits into probabilities (sigmoid or softmax).

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.layers import Dense
        >>> model = Sequential([Dense(1, activation="sigmoid")], seed=0)
        >>> model.compile(loss="binary_crossentropy")
        >>> model.build(2)
        >>> model.predict_proba(np.zeros((1, 2))).tolist()
        [[0.5, 0.5]]
        """
        if self.loss is not None and not self._is_classifier():
            raise ValueError(f"predict_proba needs a classifier loss, the model uses "
                             f"{self.loss.name!r}")
        P = self._probabilities(X, batch_size)
        if P.shape[1] == 1:
            return np.hstack([1 - P, P])
        return P

    def predict_classes(self, X: ArrayLike, batch_size: int | None = None) -> np.ndarray:
        """Predicted class labels, shape ``(m,)``: ``p >= 0.5`` for one sigmoid unit,
        else the unit with the largest output.

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.layers import Dense
        >>> model = Sequential([Dense(3, activation="softmax")], seed=0)
        >>> model.build(2)
        >>> model.predict_classes(np.zeros((2, 2))).shape
        (2,)
        """
        if self.loss is not None and not self._is_classifier():
            raise ValueError(f"predict_classes needs a classifier loss, the model uses "
                             f"{self.loss.name!r}")
        P = self._probabilities(X, batch_size)
        if P.shape[1] == 1:
            return (P[:, 0] >= 0.5).astype(np.int64)
        return np.argmax(P, axis=1)  # type: ignore[no-any-return]  # an int array

    def _regularization_cost(self, m: int) -> float:
        return sum(layer.regularization_cost(m) for layer in self._compute_layers)

    def evaluate(self, X: ArrayLike, y: ArrayLike, batch_size: int | None = None, verbose: int = 0,
                 return_dict: bool = False, sample_weight: ArrayLike | None = None
                 ) -> float | list[float] | dict[str, float]:
        """Cost (with the L2 penalty) and metrics on ``X, y``.

        Returns the loss alone when no metrics were compiled, else
        ``[loss, metric, ...]`` (a dict with ``return_dict=True``), as Keras does.
        ``sample_weight`` ``(m,)`` weighs the examples as in ``fit``: the loss is
        ``sum_j w_j L_j / m``, each metric ``sum_j w_j v_j / sum_j w_j``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.layers import Dense
        >>> model = Sequential([Dense(1, activation="sigmoid")], seed=0)
        >>> model.compile(loss="binary_crossentropy", metrics=["accuracy"])
        >>> model.build(1)
        >>> model.evaluate(np.zeros((4, 1)), np.array([0, 1, 1, 1]), return_dict=True)["loss"]
        0.693...
        """
        self._require_compiled("evaluate")
        self._require_built("evaluate")
        X = self._check_X(X)
        if X.shape[0] == 0:
            raise ValueError("X has no rows")
        Y = self._check_y(y, X.shape[0])
        w = None if sample_weight is None else _check_sample_weight(sample_weight, X.shape[0])
        logs = _inference.evaluate(self, X, Y, batch_size, w)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------ weights
    def export_onnx(self, path: str | os.PathLike[str] | None = None, **kwargs: Any
                    ) -> bytes | None:
        """The model as an ONNX graph (``fastdnn.onnx.export``): its bytes, or written to
        ``path``; ``kwargs``: ``opset``, ``batch_dim``, ``dtype``.

        Examples
        --------
        >>> from fastdnn.layers import Dense
        >>> model = Sequential([Dense(2, activation="relu")], seed=0)
        >>> model.build(3)
        >>> data = model.export_onnx()   # doctest: +SKIP
        """
        from .onnx import export
        return export(self, path, **kwargs)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every layer's arrays, layer by layer (``W (n_l, n_prev)``, ``b (n_l, 1)``).

        Examples
        --------
        >>> from fastdnn.layers import Dense
        >>> model = Sequential([Dense(2)], seed=0)
        >>> model.build(3)
        >>> [w.shape for w in model.get_weights()]
        [(2, 3), (2, 1)]
        """
        return [w for layer in self._compute_layers for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Replace every array (list as from ``get_weights``), in place.

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.layers import Dense
        >>> model = Sequential([Dense(1)], seed=0)
        >>> model.build(1)
        >>> model.set_weights([np.array([[2.0]]), np.array([[1.0]])])
        >>> model.predict(np.array([[3.0]])).tolist()
        [[7.0]]
        """
        self._require_built("set_weights")
        weights = list(weights)
        expected = sum(len(l.weights_names) for l in self._compute_layers)
        if len(weights) != expected:
            raise ValueError(f"set_weights expects {expected} arrays, got {len(weights)}")
        # check every layer first so a bad array changes nothing
        i = 0
        pending = []
        for layer in self._compute_layers:
            k = len(layer.weights_names)
            chunk = weights[i:i + k]
            for n, w in zip(layer.weights_names, chunk):
                w = np.asarray(w)
                if w.shape != getattr(layer, n).shape:
                    raise ValueError(f"{layer._label()}: {n} must have shape "
                                     f"{getattr(layer, n).shape}, got {w.shape}")
            pending.append((layer, chunk))
            i += k
        for layer, chunk in pending:
            layer.set_weights(chunk)

    def count_params(self) -> int:
        """Number of scalars in all layers."""
        return sum(layer.count_params() for layer in self._compute_layers) if self.built \
            else _summary.count_unbuilt(self)

    def summary(self, print_fn: Callable[[str], Any] | None = None) -> None:
        """Print the layers, their output shapes and parameter counts.

        Examples
        --------
        >>> from fastdnn.layers import Dense, Input
        >>> Sequential([Input(3), Dense(2, activation="relu")]).summary()
        Model: "sequential"
        ...
        Total params: 8
        """
        for line in _summary.lines(self):
            (print_fn or print)(line)

    # ------------------------------------------------------------ config, saving
    def get_config(self) -> dict[str, Any]:
        """JSON-able description of the architecture."""
        return {"name": self.name, "dtype": self.dtype.name, "seed": self.seed,
                "n_features": self.n_features,
                "layers": [_serialize_layer(l) for l in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Sequential":
        """A new (unbuilt) model from ``get_config()``'s output."""
        model = cls([_get_layer(c) for c in config["layers"]], dtype=config.get("dtype", "float32"),
                    seed=config.get("seed"), name=config.get("name"))
        if config.get("n_features") is not None and model.n_features is None:
            model.n_features = int(config["n_features"])
        return model

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model (architecture, weights, compile settings, optimizer state)
        to ``path`` as ``.npz``; ``fastdnn.load_model(path)`` reads it back."""
        from .saving import save_model

        save_model(self, path)

    def _drop_plans(self) -> None:
        """Forget the compiled plans (after a fork; rebuilt on use)."""
        self._plan_cache = self._fast_predict = None

    def __getstate__(self) -> dict[str, Any]:
        # compiled plans hold raw pointers: not pickled (nor deep-copied), rebuilt on use
        state = self.__dict__.copy()
        state["_plan_cache"] = state["_fast_predict"] = None
        return state

    def __repr__(self) -> str:
        return f"Sequential({self._compute_layers!r})"
