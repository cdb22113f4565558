"""One optimizer step on a 1000 x 1000 float32 weight matrix and its bias, single-threaded:
fastdnn's ``apply_gradients`` (with an L2 term on the weights), without clipping and with
each kind of clipping, against ``torch.optim`` (``foreach=False`` and ``True``) and torch
with ``clip_grad_norm_`` before the step, when torch is installed.

    python bench/optimizer_steps.py [--reps 40]

Each time is the 10th percentile of ``--reps`` calls, in milliseconds: on a shared
machine a call is now and then descheduled for a whole time slice, which a median of
few calls does not hide. A norm clip reads the gradient once more (a norm pass before
the update pass); a value clip is folded into the update pass.
"""
import argparse

import numpy as np

import fastdnn
from fastdnn.optimizers import SGD, Adagrad, Adam, Adamax, AdamW, Nadam

from _timing import call_times

try:
    import torch
except ImportError:   # fastdnn's columns only
    torch = None

LR = 1e-6   # the parameters barely move, so every call does the same work
CASES = {
    "sgd(momentum=0.9)": (lambda **c: SGD(LR, momentum=0.9, **c),
                          lambda ps, fe: torch.optim.SGD(ps, lr=LR, momentum=0.9, foreach=fe)),
    "adam": (lambda **c: Adam(LR, **c), lambda ps, fe: torch.optim.Adam(ps, lr=LR, foreach=fe)),
    "adamw": (lambda **c: AdamW(LR, **c),
              lambda ps, fe: torch.optim.AdamW(ps, lr=LR, foreach=fe)),
    "nadam": (lambda **c: Nadam(LR, **c),
              lambda ps, fe: torch.optim.NAdam(ps, lr=LR, foreach=fe)),
    "adagrad": (lambda **c: Adagrad(LR, **c),
                lambda ps, fe: torch.optim.Adagrad(ps, lr=LR, foreach=fe)),
    "adamax": (lambda **c: Adamax(LR, **c),
               lambda ps, fe: torch.optim.Adamax(ps, lr=LR, foreach=fe)),
}
CLIPS = [{}, {"clipnorm": 1.0}, {"global_clipnorm": 1.0}, {"clipvalue": 1e-3}]


def timed(step, reps):
    return float(np.percentile(call_times(step, reps, warmup=5), 10)) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=40)
    args = parser.parse_args()
    fastdnn.set_num_threads(1)
    rng = np.random.default_rng(0)
    W = rng.standard_normal((1000, 1000)).astype(np.float32)
    b = np.zeros((1000, 1), np.float32)
    dW = 0.01 * rng.standard_normal((1000, 1000)).astype(np.float32)
    db = np.ones((1000, 1), np.float32)
    head = ["fastdnn", "clipnorm", "global", "clipvalue"]
    if torch is not None:
        torch.set_num_threads(1)
        head += ["torch", "foreach", "torch+clip"]
    print("ms per step, 1e6 + 1e3 float32 parameters, one thread")
    print(f"{'':18s}" + "".join(f"{h:>11s}" for h in head))
    for name, (ours, theirs) in CASES.items():
        row = []
        for clip in CLIPS:
            opt, params = ours(**clip), [W.copy(), b.copy()]
            row.append(timed(lambda: opt.apply_gradients(params, [dW, db], [1e-4, 0.0]),
                             args.reps))
        if torch is not None:
            ts = [torch.tensor(W.copy()), torch.tensor(b.copy())]
            ts[0].grad, ts[1].grad = torch.tensor(dW), torch.tensor(db)
            for foreach in (False, True):
                row.append(timed(theirs(ts, foreach).step, args.reps))
            topt = theirs(ts, False)

            def clipped():
                torch.nn.utils.clip_grad_norm_(ts, 1e9)
                topt.step()

            row.append(timed(clipped, args.reps))
        print(f"{name:18s}" + "".join(f"{x:11.3f}" for x in row))


if __name__ == "__main__":
    main()
