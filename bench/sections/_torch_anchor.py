"""PyTorch's side of ``sections/activations.py``: the inputs both sides compute on, and
torch's own function for each case.

The anchor worker (``_anchor_worker.py``, recipe ``"activation"``) runs these in a process
of its own that imports NumPy and torch only -- never fastdnn -- so that torch runs on its
own OpenMP runtime with its own default settings (in the benchmark process, fastdnn loads
libgomp first with a short spin, and torch, which bundles a ``libgomp.so.1`` of the same
name, would share that runtime and its settings). :func:`base_inputs` is also what the
benchmark process draws its inputs from, so both sides compute on the same numbers.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

UNITS = 10          # rows of the (n_l, m) arrays
ALPHA = 0.01        # leaky ReLU's slope
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
SOFTPLUS_BETA, SOFTPLUS_THRESHOLD = 1, 20      # torch's defaults (z > 20 passes through)
# torch functions without an out= variant: the tensor they return is the result
RETURNS_NEW = frozenset({"softsign", "mish_derivative(z)", "mish_backward"})


def base_inputs(n: int, dtype: str, seed: int) -> dict[str, np.ndarray]:
    """Seeded ``z ~ U(-8, 8)`` and ``dA ~ N(0, 1)`` of shape ``(10, n // 10)``, C order,
    and ``zF``, ``dAF``: their F-ordered copies (the softmax cases in F order)."""
    rng = np.random.default_rng(seed)
    shape = (UNITS, n // UNITS)
    z = rng.uniform(-8.0, 8.0, shape).astype(dtype)
    dA = rng.standard_normal(shape).astype(dtype)
    return {"z": z, "dA": dA, "zF": np.asfortranarray(z), "dAF": np.asfortranarray(dA)}


# ------------------------------------------------------------------ torch's recipes

def torch_inputs(torch: Any, base: dict[str, np.ndarray]) -> dict[str, Any]:
    """Tensors sharing the base arrays' memory, and the activations torch computes."""
    t = {k: torch.from_numpy(v) for k, v in base.items()}
    z = t["z"]
    t["s"], t["t"] = torch.sigmoid(z), torch.tanh(z)
    t["r"] = torch.relu(z)
    t["a"] = torch.nn.functional.leaky_relu(z, ALPHA)
    t["elu"], t["selu"] = torch.nn.functional.elu(z), torch.selu(z)
    t["softsign"] = torch.nn.functional.softsign(z)
    t["ones"] = torch.ones_like(z)
    for axis in (0, 1):
        t[f"sm{axis}"] = torch.softmax(z, axis)
        t[f"sm{axis}F"] = torch.from_numpy(np.asfortranarray(t[f"sm{axis}"].numpy()))
    return t


def recipes(torch: Any, t: dict[str, Any]) -> dict[str, Callable[[Any], Any]]:
    """name -> f(out): torch's own function writing into ``out`` (derivatives: the
    formula autograd applies, the fused backward op with a gradient of ones; those of
    :data:`RETURNS_NEW` return a new tensor). selu is torch's ``elu`` with SELU's alpha and
    scale, as ``torch.selu`` computes it; softplus's and hard_sigmoid's backward ops take z
    only, also in the rows from the activation; softsign, a composite of three ops in torch
    with no backward op of its own, has its derivative and backward step as the formula in
    in-place ops on the output."""
    aten = torch.ops.aten
    z, dA, ones = t["z"], t["dA"], t["ones"]
    sig_bw, tanh_bw = aten.sigmoid_backward.grad_input, aten.tanh_backward.grad_input
    thr_bw, leaky_bw = aten.threshold_backward.grad_input, aten.leaky_relu_backward.grad_input
    elu_bw, gelu_bw = aten.elu_backward.grad_input, aten.gelu_backward.grad_input
    silu_bw, hs_bw = aten.silu_backward.grad_input, aten.hardsigmoid_backward.grad_input
    sp_bw, mish_bw = aten.softplus_backward.grad_input, aten.mish_backward
    sa, ss, beta, thr = SELU_ALPHA, SELU_SCALE, SOFTPLUS_BETA, SOFTPLUS_THRESHOLD
    r: dict[str, Callable[[Any], Any]] = {
        "sigmoid": lambda o: torch.sigmoid(z, out=o),
        "tanh": lambda o: torch.tanh(z, out=o),
        "relu": lambda o: aten.relu.out(z, out=o),
        "leaky_relu": lambda o: torch._C._nn.leaky_relu(z, ALPHA, out=o),
        "linear": lambda o: o.copy_(z),
        "elu": lambda o: aten.elu.out(z, out=o),
        "selu": lambda o: aten.elu.out(z, sa, ss, out=o),
        "gelu": lambda o: aten.gelu.out(z, out=o),
        "gelu_tanh": lambda o: aten.gelu.out(z, approximate="tanh", out=o),
        "silu": lambda o: aten.silu.out(z, out=o),
        "softplus": lambda o: aten.softplus.out(z, beta, thr, out=o),
        "softsign": lambda o: torch.nn.functional.softsign(z),
        "hard_sigmoid": lambda o: aten.hardsigmoid.out(z, out=o),
        "mish": lambda o: aten.mish.out(z, out=o),
        "sigmoid_derivative(z)": lambda o: sig_bw(ones, torch.sigmoid(z, out=o), grad_input=o),
        "tanh_derivative(z)": lambda o: tanh_bw(ones, torch.tanh(z, out=o), grad_input=o),
        "relu_derivative(z)": lambda o: thr_bw(ones, z, 0, grad_input=o),
        "leaky_relu_derivative(z)": lambda o: leaky_bw(ones, z, ALPHA, False, grad_input=o),
        "linear_derivative": lambda o: o.fill_(1),
        "elu_derivative(z)": lambda o: elu_bw(ones, 1, 1, 1, False, z, grad_input=o),
        "selu_derivative(z)": lambda o: elu_bw(ones, sa, ss, 1, False, z, grad_input=o),
        "gelu_derivative(z)": lambda o: gelu_bw(ones, z, grad_input=o),
        "gelu_tanh_derivative(z)": lambda o: gelu_bw(ones, z, approximate="tanh",
                                                     grad_input=o),
        "silu_derivative(z)": lambda o: silu_bw(ones, z, grad_input=o),
        "softplus_derivative(z)": lambda o: sp_bw(ones, z, beta, thr, grad_input=o),
        "softsign_derivative(z)": lambda o: torch.abs(z, out=o).add_(1).square_().reciprocal_(),
        "hard_sigmoid_derivative(z)": lambda o: hs_bw(ones, z, grad_input=o),
        "mish_derivative(z)": lambda o: mish_bw(ones, z),
        "sigmoid_derivative(a)": lambda o: sig_bw(ones, t["s"], grad_input=o),
        "tanh_derivative(a)": lambda o: tanh_bw(ones, t["t"], grad_input=o),
        "relu_derivative(a)": lambda o: thr_bw(ones, t["r"], 0, grad_input=o),
        "leaky_relu_derivative(a)": lambda o: leaky_bw(ones, t["a"], ALPHA, True, grad_input=o),
        "elu_derivative(a)": lambda o: elu_bw(ones, 1, 1, 1, True, t["elu"], grad_input=o),
        "selu_derivative(a)": lambda o: elu_bw(ones, sa, ss, 1, True, t["selu"], grad_input=o),
        "softplus_derivative(a)": lambda o: sp_bw(ones, z, beta, thr, grad_input=o),
        "softsign_derivative(a)": lambda o: torch.abs(t["softsign"], out=o).neg_().add_(1)
        .square_(),
        "hard_sigmoid_derivative(a)": lambda o: hs_bw(ones, z, grad_input=o),
        "sigmoid_backward": lambda o: sig_bw(dA, t["s"], grad_input=o),
        "tanh_backward": lambda o: tanh_bw(dA, t["t"], grad_input=o),
        "relu_backward": lambda o: thr_bw(dA, t["r"], 0, grad_input=o),
        "leaky_relu_backward": lambda o: leaky_bw(dA, t["a"], ALPHA, True, grad_input=o),
        "linear_backward": lambda o: o.copy_(dA),
        "elu_backward": lambda o: elu_bw(dA, 1, 1, 1, True, t["elu"], grad_input=o),
        "selu_backward": lambda o: elu_bw(dA, sa, ss, 1, True, t["selu"], grad_input=o),
        "gelu_backward": lambda o: gelu_bw(dA, z, grad_input=o),
        "gelu_tanh_backward": lambda o: gelu_bw(dA, z, approximate="tanh", grad_input=o),
        "silu_backward": lambda o: silu_bw(dA, z, grad_input=o),
        "softplus_backward": lambda o: sp_bw(dA, z, beta, thr, grad_input=o),
        "softsign_backward": lambda o: torch.abs(t["softsign"], out=o).neg_().add_(1)
        .square_().mul_(dA),
        "hard_sigmoid_backward": lambda o: hs_bw(dA, z, grad_input=o),
        "mish_backward": lambda o: mish_bw(dA, z),
    }
    # An F-ordered (10, m) array is handed over as its transpose, a C-contiguous (m, 10)
    # tensor, with the other dim: the same memory and arithmetic (torch's backward op
    # assumes the layout its forward produced, and gives wrong results on F strides).
    for axis in (0, 1):
        for order, sfx in (("C", ""), ("F", "F")):
            x, g, a = t["z" + sfx], t["dA" + sfx], t[f"sm{axis}{sfx}"]
            T = (lambda u: u.T) if order == "F" else (lambda u: u)
            dim = 1 - axis if order == "F" else axis
            r[f"softmax axis={axis} {order}"] = \
                lambda o, x=T(x), dim=dim, T=T: torch.softmax(x, dim, out=T(o))
            r[f"softmax_backward axis={axis} {order}"] = \
                lambda o, g=T(g), a=T(a), dim=dim, T=T: aten._softmax_backward_data.out(
                    g, a, dim, a.dtype, grad_input=T(o))
    return r


def out_order(name: str) -> str:
    """The memory order of a function's output (and inputs): F for the F-order cases."""
    return "F" if name.endswith(" F") else "C"
