"""Finite-difference check of a network's analytic gradients.

Examples
--------
>>> import numpy as np
>>> from fastdnn import gradient_check
>>> params = {"W": np.array([[1.0, -2.0]])}
>>> cost = lambda p: float(np.sum(p["W"] ** 2))
>>> gradient_check(cost, params, {"dW": 2 * params["W"]}) < 1e-7
True
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

__all__ = ["gradient_check"]


def gradient_check(cost: Callable[[dict[str, np.ndarray]], float],
                   parameters: Mapping[str, np.ndarray],
                   gradients: Mapping[str, np.ndarray], epsilon: float = 1e-7, *,
                   max_checks: int | None = None, seed: int | None = 0) -> float:
    """Relative difference between analytic and centred finite-difference gradients.

    For each checked entry θ of each parameter, ``g_approx = (J(θ + ε) - J(θ - ε)) / 2ε``;
    the result is ``‖g - g_approx‖ / (‖g‖ + ‖g_approx‖)`` over all checked entries.
    Below about 1e-7 the gradients are right; above 1e-3 there is a bug.

    Parameters
    ----------
    cost : callable
        ``cost(parameters) -> float``: the cost of the network for a dict like
        ``parameters`` (it receives perturbed float64 copies, never your arrays).
    parameters : mapping of str to ndarray
        Parameters by name, e.g. the course's ``{"W1": ..., "b1": ...}``; float64.
    gradients : mapping of str to ndarray
        Analytic gradients keyed ``"d" + name`` (the course's ``"dW1"``) or ``name``.
    epsilon : float, default 1e-7
        Perturbation.
    max_checks : int, optional
        Check at most this many entries per parameter, chosen at random (with
        ``seed``); all of them by default. Each entry costs two cost evaluations.
    seed : int, optional
        For the choice of entries when ``max_checks`` is set.

    Returns
    -------
    float
        The relative difference (0.0 when both gradients are zero).

    Examples
    --------
    >>> import numpy as np
    >>> from fastdnn import course
    >>> p = course.initialize_parameters_deep([3, 4, 1], seed=0)
    >>> X = np.random.default_rng(0).normal(size=(3, 5)); Y = np.array([[1.0, 0, 1, 0, 1]])
    >>> def J(q):
    ...     AL, _ = course.L_model_forward(X, q)
    ...     return float(course.compute_cost(AL, Y))
    >>> AL, caches = course.L_model_forward(X, p)
    >>> gradient_check(J, p, course.L_model_backward(AL, Y, caches)) < 1e-7
    True
    """
    if not callable(cost):
        raise TypeError(f"cost must be callable, got {type(cost).__name__}")
    if not (isinstance(epsilon, (int, float)) and 0 < epsilon < 1):
        raise ValueError(f"epsilon must be a number in (0, 1), got {epsilon!r}")
    if max_checks is not None and (not isinstance(max_checks, int) or max_checks < 1):
        raise ValueError(f"max_checks must be a positive int or None, got {max_checks!r}")
    work = {}
    for name, value in parameters.items():
        arr = np.asarray(value)
        if arr.dtype != np.float64:
            raise TypeError(f"parameter {name!r} has dtype {arr.dtype}; finite differences need "
                            "float64 (cast with .astype(np.float64))")
        work[name] = arr.copy()
    rng = np.random.default_rng(seed)
    analytic, approx = [], []
    for name, theta in work.items():
        grad = gradients.get("d" + name, gradients.get(name))
        if grad is None:
            raise ValueError(f"gradients has no 'd{name}' (or {name!r}); keys: {sorted(gradients)}")
        grad = np.asarray(grad, dtype=np.float64)
        if grad.shape != theta.shape:
            raise ValueError(f"gradient of {name!r} has shape {grad.shape}, "
                             f"parameter has {theta.shape}")
        flat = theta.reshape(-1)  # a view: perturbations reach work[name]
        idx = np.arange(flat.size)
        if max_checks is not None and flat.size > max_checks:
            idx = rng.choice(flat.size, max_checks, replace=False)
        for i in idx:
            old = flat[i]
            flat[i] = old + epsilon
            plus = float(cost(work))
            flat[i] = old - epsilon
            minus = float(cost(work))
            flat[i] = old
            approx.append((plus - minus) / (2 * epsilon))
            analytic.append(grad.reshape(-1)[i])
    g, ga = np.array(analytic), np.array(approx)
    denom = np.linalg.norm(g) + np.linalg.norm(ga)
    return 0.0 if denom == 0 else float(np.linalg.norm(g - ga) / denom)
