"""fastdnn: fully connected deep neural networks with compiled hot paths.

Examples
--------
>>> import fastdnn
>>> float(fastdnn.sigmoid(0.0))
0.5
"""
__version__ = "0.1.0"

import os as _os

# GNU OpenMP threads spin ~300k iterations after each parallel region. When
# another process holds a core, a spinning team is descheduled for whole time
# slices and a 0.2 ms call takes 10 ms. A short spin keeps back-to-back calls
# fast and degrades gracefully under contention. Set before libgomp loads;
# OMP_WAIT_POLICY or GOMP_SPINCOUNT set by the user win.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "10000"

try:
    from ._kernels import _elementwise  # noqa: F401
except ImportError as exc:  # pragma: no cover - only on a broken or unbuilt tree
    raise ImportError(
        "fastdnn's compiled kernels are not available "
        f"({exc}). If you are in the source tree, build them with "
        "`pip install -e .`, or run from another directory after `pip install .`."
    ) from exc

# GNU OpenMP cannot run a parallel region in a child forked after the parent used
# its threads (the child hangs): a forked child runs the kernels single-threaded.
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=lambda: _elementwise.set_num_threads(1))

from . import activations, course, functional, reference  # noqa: E402
from . import (  # noqa: E402
    callbacks, initializers, layers, losses, metrics, models, optimizers, preprocessing,
    regularizers, schedules, sklearn,
)
from .models import Sequential  # noqa: E402
from . import _numpy_blas  # noqa: E402

try:
    _numpy_blas.install()
except Exception:  # pragma: no cover - keep SciPy's BLAS whatever went wrong
    pass
from .saving import load_model  # noqa: E402
from ._config import get_num_threads, info, set_num_threads  # noqa: E402
from .gradcheck import gradient_check  # noqa: E402
from .functional import (  # noqa: E402
    leaky_relu, leaky_relu_backward, leaky_relu_derivative,
    linear, linear_backward, linear_derivative,
    relu, relu_backward, relu_derivative,
    sigmoid, sigmoid_backward, sigmoid_derivative,
    softmax, softmax_backward,
    tanh, tanh_backward, tanh_derivative,
)

__all__ = [
    "__version__", "activations", "course", "functional", "reference",
    "callbacks", "initializers", "layers", "losses", "metrics", "models", "optimizers",
    "preprocessing", "regularizers", "schedules", "sklearn", "Sequential", "load_model",
    "get_num_threads", "set_num_threads", "info", "gradient_check",
    "sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax",
    "sigmoid_derivative", "tanh_derivative", "relu_derivative",
    "leaky_relu_derivative", "linear_derivative",
    "sigmoid_backward", "tanh_backward", "relu_backward",
    "leaky_relu_backward", "linear_backward", "softmax_backward",
]
