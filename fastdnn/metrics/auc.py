"""``AUC``: the area under the ROC or precision-recall curve, streamed over mini-batches."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._kernels import _metrics
from .._validation import check_bool, check_choice, check_int
from .metric import CountsMetric, _spec

if TYPE_CHECKING:
    from .._compiled import MetricKernel

__all__ = ["AUC"]


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, 0 where ``den`` is 0 (Keras' ``divide_no_nan``)."""
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den != 0)
    return out


class AUC(CountsMetric):
    """Area under the ROC curve (or the precision-recall curve), Keras' ``AUC``.

    The predictions of every output element are counted against ``num_thresholds``
    thresholds ``-1e-7, 1/(N-1), ..., (N-2)/(N-1), 1 + 1e-7`` (a prediction above a
    threshold is positive there; a target is positive when ``y > 0.5``): a histogram of
    ``2 N + 3`` counts per pass, whatever the number of examples. ``result()`` forms the
    true/false positive rates at each threshold and sums the curve's area: ``"interpolation"``
    (trapezoids; for ``"PR"``, Davis and Goadrich's interpolation), ``"minoring"`` or
    ``"majoring"`` (rectangles under or over). The area equals
    ``sklearn.metrics.roc_auc_score`` up to the thresholds' spacing. Predictions should be
    probabilities in ``[0, 1]`` (or logits, with ``from_logits=True``: then the sigmoid of
    each is counted); a NaN prediction makes the result NaN.

    Parameters
    ----------
    num_thresholds : int > 1, default 200
    curve : {"ROC", "PR"}, default "ROC"
    summation_method : {"interpolation", "minoring", "majoring"}, default "interpolation"
    from_logits : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> auc = AUC()
    >>> auc.update_state(np.array([[0.1, 0.4]]), np.array([[0, 0]]))
    >>> auc.update_state(np.array([[0.35, 0.8]]), np.array([[1, 1]]))
    >>> round(auc.result(), 6)   # 3 of the 4 (positive, negative) pairs are ordered right
    0.75
    """

    name = "auc"

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", from_logits: bool = False):
        self.num_thresholds = check_int(num_thresholds, "num_thresholds", 2, 1 << 24)
        self.curve = check_choice(curve.upper() if isinstance(curve, str) else curve, "curve",
                                  ("ROC", "PR"))
        self.summation_method = check_choice(
            summation_method.lower() if isinstance(summation_method, str) else summation_method,
            "summation_method", ("interpolation", "minoring", "majoring"))
        self.from_logits = check_bool(from_logits, "from_logits")
        super().__init__()

    def _size(self) -> int:
        return 2 * self.num_thresholds + 3

    def _counts(self, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return _metrics.auc_counts(A, Y, self.num_thresholds, self.from_logits)

    def confusion(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(tp, fp, tn, fn)`` at each threshold, from the counts so far.

        Examples
        --------
        >>> auc = AUC(num_thresholds=3)
        >>> auc.update_state(np.array([[0.2, 0.7]]), np.array([[0, 1]]))
        >>> [c.tolist() for c in auc.confusion()]   # thresholds -1e-7, 0.5, 1 + 1e-7
        [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
        """
        return self._confusion(self.counts)

    def _confusion(self, counts: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        N = self.num_thresholds
        pos, neg = counts[:N + 1], counts[N + 1:2 * N + 2]
        # at threshold i the predictions above it are those of buckets i+1 .. N
        tp = np.cumsum(pos[::-1])[::-1][1:]
        fp = np.cumsum(neg[::-1])[::-1][1:]
        return tp, fp, neg.sum() - fp, pos.sum() - tp

    def _finish(self, counts: np.ndarray) -> float:
        if counts[-1]:
            return float("nan")
        tp, fp, tn, fn = self._confusion(counts)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr(tp, fp, fn)
        recall = _divide(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide(fp, fp + tn), recall
        else:
            x, y = recall, _divide(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    @staticmethod
    def _interpolate_pr(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> float:
        """Davis and Goadrich's interpolation of the precision-recall curve (as Keras)."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.ones_like(dtp)
        np.divide(p[:-1], np.maximum(p[1:], 0), out=ratio, where=both)
        return float(np.sum(_divide(slope * (dtp + intercept * np.log(ratio)),
                                    np.maximum(tp[1:] + fn[1:], 0))))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "from_logits": self.from_logits}

    def compiled_spec(self, n_outputs: int) -> MetricKernel:
        return _spec(self, AUC, "auc", self.num_thresholds, n_outputs, self._size(),
                     self.from_logits)
