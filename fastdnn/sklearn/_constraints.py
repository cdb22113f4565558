"""The estimators' declarative parameter constraints (scikit-learn's ``_parameter_constraints``,
taken from ``sklearn.neural_network``'s estimators) and the names that map scikit-learn's
choices onto fastdnn's.

scikit-learn's ``BaseEstimator._validate_params`` checks them at the start of every
``fit``/``partial_fit`` and raises its ``InvalidParameterError`` (a ``ValueError`` and a
``TypeError``) with scikit-learn's own message.

Examples
--------
>>> sorted(HIDDEN_ACTIVATIONS)
['identity', 'leaky_relu', 'logistic', 'relu', 'tanh']
>>> "rmsprop" in STOCHASTIC_SOLVERS
True
"""
from __future__ import annotations

import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.utils._param_validation import Options, StrOptions

# scikit-learn's hidden activation names -> fastdnn's (leaky_relu is fastdnn's extra)
HIDDEN_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh",
                      "relu": "relu", "leaky_relu": "leaky_relu"}
# scikit-learn's out_activation_ names -> the fastdnn activation of the last Dense layer
# ("exp" is a linear layer followed by exp, the log link of the Poisson loss)
OUTPUT_ACTIVATIONS = {"logistic": "sigmoid", "softmax": "softmax", "identity": "linear",
                      "exp": "linear"}
# trained by mini-batches (partial_fit, learning-rate schedules, loss_curve_); rmsprop is
# fastdnn's extra
STOCHASTIC_SOLVERS = ("sgd", "adam", "rmsprop")

# fastdnn's options for the two parameters it widens, and its extras
_FASTDNN: dict = {
    "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
    "solver": [StrOptions({"lbfgs", *STOCHASTIC_SOLVERS})],
    "dtype": [None, StrOptions({"float32", "float64"}),
              Options(type, {np.float32, np.float64}),
              Options(np.dtype, {np.dtype(np.float32), np.dtype(np.float64)})],
    "normalize": ["boolean"],
    "kernel_initializer": [None, str, dict, callable],
}
# every other parameter keeps scikit-learn's own constraint objects: the installed version's
# validation and messages, word for word
PARAMETER_CONSTRAINTS: dict = {**MLPClassifier._parameter_constraints, **_FASTDNN}
REGRESSOR_CONSTRAINTS: dict = {**MLPRegressor._parameter_constraints, **_FASTDNN}
