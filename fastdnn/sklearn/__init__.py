"""scikit-learn compatible estimators: ``MLPClassifier`` and ``MLPRegressor``.

They take the parameters of scikit-learn's ``sklearn.neural_network``
estimators of the same names and train a :class:`fastdnn.models.Sequential`
with fastdnn's compiled kernels; all the math is fastdnn's. scikit-learn is not
needed, but when it is installed the estimators work with its tools
(``clone``, ``GridSearchCV``, ``Pipeline``, ``cross_val_score``): ``__init__``
only stores its arguments, ``get_params``/``set_params`` follow
``BaseEstimator``, parameters are checked in ``fit`` (``ValueError`` naming
the parameter), ``fit`` returns ``self`` and fitted attributes end in ``_``.

How scikit-learn's parameters map onto fastdnn
----------------------------------------------
- ``hidden_layer_sizes``, ``activation``: one ``Dense`` layer per entry, with
  ``"relu"``, ``"tanh"``, ``"logistic"`` (fastdnn ``"sigmoid"``) or
  ``"identity"`` (``"linear"``). The weights start with fastdnn's default for
  the activation (He for ReLU, Xavier otherwise), not scikit-learn's Glorot
  uniform, so results match scikit-learn's statistically, not bit for bit.
- output: binary classification is one sigmoid unit with
  ``binary_crossentropy``, multiclass a softmax layer with
  ``categorical_crossentropy``, regression a linear layer with ``mse`` (the
  half squared error ``sum((A - Y)**2) / 2m``, scikit-learn's squared loss).
- ``alpha``: ``kernel_regularizer=L2(alpha)`` on every layer, the penalty
  ``alpha / 2m * ||W||^2`` per mini-batch of ``m`` examples — scikit-learn's.
- ``solver="adam"``: ``Adam(learning_rate_init, beta_1, beta_2, epsilon)``.
  ``solver="sgd"``: ``GD(learning_rate_init)`` when ``momentum == 0``,
  otherwise ``Momentum(learning_rate_init / (1 - momentum), beta=momentum)``.
  fastdnn's momentum is the lecture's exponentially weighted average
  ``v = beta v + (1 - beta) g; W -= lr v``; with the learning rate divided by
  ``1 - momentum`` it is exactly scikit-learn's heavy-ball update
  ``v = momentum v - lr g; W += v`` with ``nesterovs_momentum=False``
  (Nesterov momentum and the ``learning_rate`` schedules are not offered).
  ``solver="lbfgs"`` is not supported.
- ``batch_size="auto"`` is ``min(200, n_samples)``; larger values are clipped.
- ``max_iter``: epochs; ``n_iter_`` is the number actually run.
- ``tol``, ``n_iter_no_change``: an :class:`~fastdnn.callbacks.EarlyStopping`
  with ``min_delta=tol`` and ``patience=n_iter_no_change + 1``, which is
  scikit-learn's rule (stop after more than ``n_iter_no_change`` epochs in a row
  that do not beat the best value by ``tol``). It watches the training loss
  (including the L2 penalty, like scikit-learn's ``loss_``). With
  ``early_stopping=True`` a random ``validation_fraction`` of the training
  data (drawn with ``random_state``, not stratified) is held out, the callback
  watches ``val_accuracy`` (classifier; scikit-learn's validation score) or
  ``val_loss`` (regressor; scikit-learn watches R², which is the half squared
  error rescaled, for a single output) and the weights of the best epoch are
  restored at the end, as scikit-learn does.
- ``random_state``: seeds the initial weights, the shuffling and the
  validation split; an int gives the same model on every ``fit``.
- extras of fastdnn: ``normalize=True`` puts a
  :class:`~fastdnn.layers.Normalizer` adapted on the training ``X`` first
  (part of the model, so ``predict`` takes raw ``X``; ``coefs_[0]`` then
  applies to normalized inputs); ``dtype`` (``"float32"`` by default).

Examples
--------
>>> import numpy as np
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
>>> y = np.array(["no", "yes", "yes", "yes"] * 10)
>>> clf = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.05, max_iter=100,
...                     random_state=0).fit(X, y)
>>> clf.classes_.tolist(), clf.predict([[0.0, 0.0], [1.0, 1.0]]).tolist()
(['no', 'yes'], ['no', 'yes'])
>>> clf.predict_proba(X).shape, clf.score(X, y)
((40, 2), 1.0)
"""
from __future__ import annotations

from ._classifier import MLPClassifier
from ._params import InvalidParameterError
from ._regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
