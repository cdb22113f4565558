"""The parameter and attribute documentation both estimators share (one copy).

Examples
--------
>>> "hidden_layer_sizes" in PARAMETERS and "kernel_initializer" in PARAMETERS
True
"""
from __future__ import annotations

LOSS = """
    loss : {"squared_error", "poisson"}, default="squared_error"
        Half squared error with an identity output, or half Poisson deviance with an
        ``exp`` output (log link; ``y >= 0``).
"""

PARAMETERS = """
    hidden_layer_sizes : array-like of int or int, default=(100,)
        Units of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu", "leaky_relu"}, default="relu"
        Hidden activation (``leaky_relu``, slope 0.01 below 0, is fastdnn's extra).
    solver : {"lbfgs", "sgd", "adam", "rmsprop"}, default="adam"
        ``lbfgs``: scipy's L-BFGS-B on the full batch. ``sgd``: scikit-learn's SGD with
        (Nesterov) momentum and learning-rate schedules. ``adam``: fastdnn's compiled Adam
        (``epsilon`` added to the bias-corrected ``sqrt(v)``). ``rmsprop`` (fastdnn's
        extra): fastdnn's compiled RMSprop, ``beta=beta_2``, with ``sgd``'s schedules.
    alpha : float, default=0.0001
        L2 strength; the penalty ``alpha/2 ||W||^2`` is divided by the number of examples
        (or the sum of the sample weights) of the batch.
    batch_size : int or "auto", default="auto"
        Mini-batch size of the stochastic solvers; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Schedule of ``sgd`` (and ``rmsprop``): ``invscaling`` is
        ``learning_rate_init / pow(t, power_t)``; ``adaptive`` divides the rate by 5 each
        time ``n_iter_no_change`` epochs in a row miss ``tol``.
    learning_rate_init : float, default=0.001
    power_t : float, default=0.5
        Exponent of ``invscaling``.
    max_iter : int, default=200
        Epochs of the stochastic solvers; iterations of ``lbfgs``.
    shuffle : bool, default=True
        Shuffle the examples every epoch (stochastic solvers).
    random_state : int, RandomState instance or None, default=None
        Initial weights, shuffling and the early-stopping split; with the default
        initialization the weights are scikit-learn's draws for the same state.
    tol : float, default=1e-4
        Smallest improvement of the loss (or validation score) that counts; ``lbfgs``'s
        ``gtol``.
    verbose : bool or int, default=False
        Print the loss of every epoch.
    warm_start : bool, default=False
        Start ``fit`` from the current weights instead of new ones.
    momentum : float in [0, 1], default=0.9
        Momentum of ``sgd``.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for ``sgd``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for single-label
        classifiers), stop when its score does not improve by ``tol`` for
        ``n_iter_no_change`` epochs and keep the best weights.
    validation_fraction : float in [0, 1), default=0.1
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Decay rates of Adam's moment estimates (``beta_2`` also RMSprop's).
    epsilon : float, default=1e-8
        Adam's and RMSprop's stabilizer.
    n_iter_no_change : int or np.inf, default=10
        Epochs without an improvement of ``tol`` before stopping.
    max_fun : int, default=15000
        Most loss evaluations of ``lbfgs``.
    dtype : {None, "float32", "float64"}, default=None
        fastdnn's extra: the dtype of the weights and computations. ``None`` follows
        ``X`` as scikit-learn does: float32 ``X`` trains in float32, anything else in
        float64.
    normalize : bool, default=False
        fastdnn's extra: standardize the inputs with the mean and variance (weighted by
        ``sample_weight``) of the ``X`` of the first ``fit``; warm starts and
        ``partial_fit`` keep them. A ``Normalizer`` layer: ``coefs_[0]`` applies to the
        standardized inputs, ``predict`` takes raw ``X``.
    kernel_initializer : None, "auto", str, dict or callable, default=None
        fastdnn's extra: ``None`` draws weights and biases as scikit-learn does
        (Glorot uniform); ``"auto"`` is fastdnn's default per activation (He for ReLU,
        Xavier otherwise) with zero biases; a name (``"he_normal"``, ...), config or
        initializer of :mod:`fastdnn.initializers` is used for every layer.
"""

ATTRIBUTES = """
    loss_ : float
        The loss (with the L2 term) of the last epoch, or at the ``lbfgs`` solution.
    best_loss_ : float or None
        Smallest ``loss_curve_`` value (None with ``early_stopping``; stochastic solvers).
    loss_curve_ : list of float
        Loss of every epoch (stochastic solvers).
    validation_scores_ : list of float or None
        Score of every epoch on the held-out data with ``early_stopping``.
    best_validation_score_ : float or None
    t_ : int
        Training examples seen by the solver.
    coefs_ : list of ndarray, (fan_in, fan_out) each
        Weight matrices; views of the estimator's parameter buffer. Assigning new arrays
        (or changing these in place) changes the model, e.g. before ``partial_fit``.
    intercepts_ : list of ndarray, (fan_out,) each
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string feature names.
    n_iter_ : int
        Epochs (or ``lbfgs`` iterations) run by the last ``fit``.
    n_layers_ : int
        Layers counting input and output.
    n_outputs_ : int
    out_activation_ : str
        ``"logistic"``, ``"softmax"``, ``"identity"`` or ``"exp"``.
    model_ : fastdnn.models.Sequential
        The network as a fastdnn model sharing these weights.
"""
