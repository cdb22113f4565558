"""Training callbacks: hooks a model calls around epochs and mini-batches.

The API follows Keras: a :class:`Callback` has ``on_*`` hooks and the
attributes ``model`` and ``params``; ``Sequential.fit`` wraps the user's
callbacks in a :class:`CallbackList`, which adds a :class:`History` (returned
by ``fit``) and, when ``verbose`` is not 0, a :class:`ProgbarLogger`.
:class:`EarlyStopping`, :class:`ModelCheckpoint` and :class:`ReduceLROnPlateau`
watch a metric through their shared base :class:`MonitorCallback`.

Epochs and batches are numbered from 0 in the hooks (``on_epoch_end(0, logs)``
is the first epoch); printed messages and file names count from 1, as in Keras.

Per-batch Python calls cost time next to a compiled training step, so a model
asks :attr:`CallbackList.needs_batch_hooks` and calls the ``on_train_batch_*``
hooks only when some callback listens. The progress bar does not need them: the
model calls :meth:`ProgbarLogger.update` itself, and updates are throttled.

Examples
--------
>>> from types import SimpleNamespace
>>> from fastdnn.callbacks import CallbackList, EarlyStopping
>>> model = SimpleNamespace(stop_training=False)
>>> cbs = CallbackList([EarlyStopping(monitor="loss", patience=2)], model=model,
...                    verbose=0, epochs=10, steps=5)
>>> cbs.on_train_begin()
>>> for epoch, loss in enumerate([0.9, 0.5, 0.6, 0.7, 0.4]):
...     cbs.on_epoch_begin(epoch)
...     cbs.on_epoch_end(epoch, {"loss": loss})
...     if model.stop_training:
...         break
>>> cbs.on_train_end()
>>> cbs.history.history["loss"]
[0.9, 0.5, 0.6, 0.7]
>>> cbs.needs_batch_hooks
False
"""
from .callback import Callback
from .callback_list import CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History
from .lambda_callback import LambdaCallback
from .learning_rate_scheduler import LearningRateScheduler
from .model_checkpoint import ModelCheckpoint
from .monitor_callback import MonitorCallback
from .progbar import Progbar
from .progbar_logger import ProgbarLogger
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "History", "Progbar", "ProgbarLogger",
           "MonitorCallback", "EarlyStopping", "LearningRateScheduler", "ModelCheckpoint",
           "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN", "LambdaCallback"]
