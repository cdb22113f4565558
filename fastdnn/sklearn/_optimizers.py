"""The stochastic solvers on the one flat parameter vector, with scikit-learn's protocol
(``update_params``, ``iteration_ends``, ``trigger_stopping``, ``learning_rate``).

- ``sgd``: scikit-learn's ``SGDOptimizer`` step for step (heavy-ball or Nesterov momentum,
  ``constant``/``invscaling``/``adaptive`` learning rates), each update a couple of
  compiled passes (``fastdnn.functional.sgd_update``) over the whole vector; in the
  compiled loop, fastdnn's ``SGD`` (the same steps at the epoch's rate).
- ``adam``: fastdnn's compiled ``Adam`` (one pass). It adds ``epsilon`` to
  ``sqrt(v_hat)`` (Kingma & Ba's Algorithm 1) where scikit-learn adds it to ``sqrt(v)``
  and scales the rate instead: the steps differ only where ``sqrt(v_hat)`` is near
  ``epsilon`` (1e-8 by default).
- ``rmsprop`` (fastdnn's extra): fastdnn's compiled ``RMSprop`` with ``beta = beta_2``,
  with the learning-rate schedules of ``sgd``.

Examples
--------
>>> import numpy as np
>>> p = np.zeros(2)
>>> opt = SGDOptimizer(p, 0.1, "constant", momentum=0.0, nesterov=False, power_t=0.5)
>>> opt.update_params(p, np.ones(2))
>>> p.tolist()
[-0.1, -0.1]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from ..optimizers import GD, SGD, Adam, RMSprop


class _Schedule:
    """scikit-learn's learning-rate schedules (``BaseOptimizer``/``SGDOptimizer``)."""

    def __init__(self, learning_rate_init: float, lr_schedule: str = "constant",
                 power_t: float = 0.5):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.power_t = float(power_t)

    def iteration_ends(self, time_step: int) -> None:
        """``invscaling``: ``learning_rate_init / (time_step + 1) ** power_t``."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose: Any) -> bool:
        """Stop, unless ``adaptive`` can still divide the learning rate by 5."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class SGDOptimizer(_Schedule):
    """scikit-learn's SGD: ``v = momentum v - lr g``; ``p += v`` or, with Nesterov,
    ``p += momentum v - lr g``.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros(1)
    >>> opt = SGDOptimizer(p, 0.5, "constant", momentum=0.5, nesterov=True, power_t=0.5)
    >>> opt.update_params(p, np.ones(1)); p.tolist()      # v = -0.5; p += 0.5 v - 0.5
    [-0.75]
    """

    def __init__(self, params: np.ndarray, learning_rate_init: float, lr_schedule: str,
                 momentum: float, nesterov: bool, power_t: float):
        super().__init__(learning_rate_init, lr_schedule, power_t)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocity = np.zeros_like(params)
        self._step: np.ndarray | None = None

    def update_params(self, params: np.ndarray, grad: np.ndarray) -> None:
        """One step on ``params`` in place from ``grad``."""
        v, mu, lr = self.velocity, self.momentum, self.learning_rate
        v *= mu
        F.sgd_update(v, grad, lr, out=v)            # v = mu v - lr g
        if self.nesterov:
            step = self._step
            if step is None or step.shape != v.shape:
                step = self._step = np.empty_like(v)
            np.multiply(v, mu, out=step)
            F.sgd_update(step, grad, lr, out=step)  # mu v - lr g
            params += step
        else:
            params += v

    def step(self, net: Any) -> None:
        """One step on the network's flat parameter vector from its flat gradient."""
        self.update_params(net.flat, net.grad)

    def compiled(self) -> Any:
        """The fastdnn optimizer the compiled training loop runs for this one: plain
        gradient descent (``momentum=0``), else ``SGD`` with the same momentum, whose
        buffer ``b`` is ``-v / lr`` (:meth:`to_buffer`, :meth:`from_buffer`): at the
        epoch's learning rate its steps are scikit-learn's."""
        if self.momentum == 0.0:
            return GD(self.learning_rate)
        return SGD(self.learning_rate, momentum=self.momentum, nesterov=self.nesterov)

    def to_buffer(self, b: np.ndarray) -> None:
        """The compiled ``SGD``'s buffer from the velocity, at the current rate."""
        np.multiply(self.velocity, -1.0 / self.learning_rate, out=b)

    def from_buffer(self, b: np.ndarray) -> None:
        """The velocity from the compiled ``SGD``'s buffer, at the current rate."""
        np.multiply(b, -self.learning_rate, out=self.velocity)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_step"] = None       # scratch, not state
        return state


class KernelOptimizer(_Schedule):
    """fastdnn's compiled ``Adam`` or ``RMSprop`` behind scikit-learn's optimizer protocol.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros(2)
    >>> opt = KernelOptimizer.adam(0.1, 0.9, 0.999, 1e-8)
    >>> opt.update_params(p, np.array([1.0, -1.0])); np.round(p, 6).tolist()
    [-0.1, 0.1]
    """

    def __init__(self, optimizer: Any, learning_rate_init: float, lr_schedule: str = "constant",
                 power_t: float = 0.5):
        super().__init__(learning_rate_init, lr_schedule, power_t)
        self.optimizer = optimizer
        self._decays: list[float] | None = None

    @classmethod
    def adam(cls, learning_rate_init: float, beta_1: float, beta_2: float,
             epsilon: float) -> "KernelOptimizer":
        """scikit-learn's ``solver="adam"`` (its rate is constant)."""
        return cls(Adam(learning_rate_init, beta1=beta_1, beta2=beta_2, epsilon=epsilon),
                   learning_rate_init)

    @classmethod
    def rmsprop(cls, learning_rate_init: float, lr_schedule: str, beta: float, epsilon: float,
                power_t: float) -> "KernelOptimizer":
        """fastdnn's ``solver="rmsprop"``, with ``sgd``'s learning-rate schedules."""
        return cls(RMSprop(learning_rate_init, beta=beta, epsilon=epsilon), learning_rate_init,
                   lr_schedule, power_t)

    def update_params(self, params: Any, grads: Any) -> None:
        """One compiled step on ``params`` (an array or a list of arrays) in place from
        ``grads``. The state belongs to the arrays of the first step."""
        opt = self.optimizer
        if opt.learning_rate != self.learning_rate:
            opt.learning_rate = self.learning_rate
        if isinstance(params, np.ndarray):
            params, grads = [params], [grads]
        opt.apply_gradients(params, grads)

    fuses_l2 = True     # step() takes the L2 term into the update pass

    def step(self, net: Any, decay: float = 0.0, parts: tuple[list, list] | None = None
             ) -> None:
        """One step on the network's layers (``W``, ``b`` per layer: the arrays the compiled
        training loop updates, so that both share the state), or on ``parts`` (the same
        arrays, some of them held elsewhere); ``decay`` adds the L2 term ``decay * W`` to
        the weights' gradients in the same pass."""
        opt = self.optimizer
        if opt.learning_rate != self.learning_rate:
            opt.learning_rate = self.learning_rate
        params, grads = (net.param_parts, net.grad_parts) if parts is None else parts
        decays = None
        if decay:
            decays = getattr(self, "_decays", None)
            if decays is None or decays[0] != decay or len(decays) != len(params):
                decays = self._decays = [decay, 0.0] * (len(params) // 2)
        opt.apply_gradients(params, grads, decays)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_decays"] = None       # scratch, not state
        return state

    def compiled(self) -> Any:
        """The fastdnn optimizer the compiled training loop runs: this one's own, at the
        current learning rate."""
        opt = self.optimizer
        if opt.learning_rate != self.learning_rate:
            opt.learning_rate = self.learning_rate
        return opt


def make_optimizer(est: Any, params: np.ndarray) -> Any:
    """The optimizer of ``est.solver`` for the flat vector ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdnn.sklearn import MLPClassifier
    >>> type(make_optimizer(MLPClassifier(solver="sgd"), np.zeros(3))).__name__
    'SGDOptimizer'
    """
    if est.solver == "sgd":
        opt: Any = SGDOptimizer(params, est.learning_rate_init, est.learning_rate,
                                est.momentum, est.nesterovs_momentum, est.power_t)
    elif est.solver == "rmsprop":
        opt = KernelOptimizer.rmsprop(est.learning_rate_init, est.learning_rate, est.beta_2,
                                      est.epsilon, est.power_t)
    else:
        opt = KernelOptimizer.adam(est.learning_rate_init, est.beta_1, est.beta_2, est.epsilon)
    opt.size = params.size      # the state belongs to a vector of this size
    return opt
