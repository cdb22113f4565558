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
    elu, elu_backward, elu_derivative,
    selu, selu_backward, selu_derivative,
    gelu, gelu_backward, gelu_derivative,
    gelu_tanh, gelu_tanh_backward, gelu_tanh_derivative,
    silu, silu_backward, silu_derivative,
    softplus, softplus_backward, softplus_derivative,
    softsign, softsign_backward, softsign_derivative,
    hard_sigmoid, hard_sigmoid_backward, hard_sigmoid_derivative,
    mish, mish_backward, mish_derivative,
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
    "elu", "selu", "gelu", "gelu_tanh", "silu", "softplus", "softsign", "hard_sigmoid", "mish",
    "elu_derivative", "selu_derivative", "gelu_derivative", "gelu_tanh_derivative",
    "silu_derivative", "softplus_derivative", "softsign_derivative",
    "hard_sigmoid_derivative", "mish_derivative",
    "elu_backward", "selu_backward", "gelu_backward", "gelu_tanh_backward", "silu_backward",
    "softplus_backward", "softsign_backward", "hard_sigmoid_backward", "mish_backward",
]
