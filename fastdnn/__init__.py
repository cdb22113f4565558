"""fastdnn: fully connected deep neural networks with compiled hot paths.

Examples
--------
>>> import fastdnn
>>> float(fastdnn.sigmoid(0.0))
0.5
"""
from ._version import __version__

# import-time and fork-time decisions (threads, fork handlers, SIMD, product engine): one
# module, and fastdnn.info() says what was decided and why
from . import _runtime  # noqa: E402,F401

from . import activations, course, functional, reference  # noqa: E402
from . import (  # noqa: E402
    callbacks, initializers, layers, losses, metrics, models, optimizers, preprocessing,
    regularizers, schedules, sklearn,
)
from .models import Sequential  # noqa: E402
from .saving import load_model  # noqa: E402
from .onnx import load_onnx  # noqa: E402  (the onnx package is imported only when called)
from . import distributed  # noqa: E402  (mpi4py is imported only when MPI() is made)
from ._runtime import get_num_threads, info, set_num_threads  # noqa: E402
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
    "__version__", "distributed", "activations", "course", "functional", "reference",
    "callbacks", "initializers", "layers", "losses", "metrics", "models", "optimizers",
    "preprocessing", "regularizers", "schedules", "sklearn", "Sequential", "load_model",
    "load_onnx",
    "get_num_threads", "set_num_threads", "info", "gradient_check",
    "sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax",
    "sigmoid_derivative", "tanh_derivative", "relu_derivative",
    "leaky_relu_derivative", "linear_derivative",
    "sigmoid_backward", "tanh_backward", "relu_backward",
    "leaky_relu_backward", "linear_backward", "softmax_backward",
]
