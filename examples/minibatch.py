"""Batch, mini-batch and stochastic gradient descent: the cost of every step.

The lecture (item 10) splits the m training examples into mini-batches; one
epoch is one pass over all of them. Batch gradient descent (one batch of m,
``batch_size=None``) makes one step per epoch, stochastic gradient descent
(``batch_size=1``) makes m, mini-batch gradient descent (here 64) makes
ceil(m/64). The cost of each mini-batch (``history.batch_loss``) is noisy --
each batch is a different sample of the data -- but trends down.

Same network, initial weights and plain gradient descent (learning rate 0.01)
for the three runs, on scikit-learn's digits ``[64 -> 64 relu -> 10 softmax]``
with normalized inputs. Every cost is plotted against the epoch it belongs to
(step j of an epoch of s steps at ``epoch + (j+1)/s``), so the three runs share
an x axis. The summary also prints the training time of each run: per epoch,
stochastic GD learns the most, but its m small steps take several times longer
than the few vectorized mini-batch steps (timings depend on the machine and on
its load).

Run ``python examples/minibatch.py [--quick] [--out DIR]``; the figure is
written to ``examples/figures/minibatch.png`` by default.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from fastdnn import optimizers
from fastdnn._datasets import load
from fastdnn.callbacks import Callback
from fastdnn.layers import Dense, Input, Normalizer
from fastdnn.models import Sequential

FIGURES = Path(__file__).resolve().parent / "figures"
LEARNING_RATE = 0.01
RUNS = {  # label: batch_size
    "batch GD (batch_size=None, 1 step/epoch)": None,
    "mini-batch GD (batch_size=64)": 64,
    "stochastic GD (batch_size=1)": 1,
}
COLORS = ["black", "tab:blue", "tab:orange"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small data, few epochs (for tests)")
    p.add_argument("--out", default=str(FIGURES),
                   help="directory of the PNG (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=None, help="default 20 (3 with --quick)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


class WallClock(Callback):
    """Seconds since the start of training at the end of every epoch."""

    def on_train_begin(self, logs=None):
        self.t0 = time.perf_counter()
        self.seconds = []

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.t0)


def moving_average(x, window):
    window = max(1, min(window, len(x)))
    c = np.cumsum(np.insert(np.asarray(x, dtype=np.float64), 0, 0.0))
    return (c[window:] - c[:-window]) / window


def main(argv=None):
    args = parse_args(argv)
    epochs = args.epochs or (3 if args.quick else 20)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, y, description = load("digits", args.seed)
    X = X.astype(np.float32)
    if args.quick:
        X, y = X[:256], y[:256]
    m = X.shape[0]

    runs = {}
    for label, batch_size in RUNS.items():
        norm = Normalizer()
        norm.adapt(X)
        model = Sequential([Input(X.shape[1]), norm, Dense(64, activation="relu"),
                            Dense(10, activation="softmax")], seed=args.seed)
        model.compile(optimizer=optimizers.GD(LEARNING_RATE), loss="categorical_crossentropy")
        clock = WallClock()
        history = model.fit(X, y, epochs=epochs, batch_size=batch_size, seed=args.seed,
                            callbacks=[clock], verbose=0)
        steps = -(-m // (batch_size or m))
        batch_loss = history.batch_loss
        runs[label] = {"batch_size": batch_size, "steps_per_epoch": steps,
                       "batch_loss": batch_loss,
                       "x": np.arange(1, len(batch_loss) + 1) / steps,
                       "epoch_loss": history.history["loss"],
                       "final_cost": float(model.evaluate(X, y)),
                       "seconds": clock.seconds}

    # ------------------------------------------------------------ figure
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax, ax_s = fig.subplots(1, 2)
    (gd_label, mb_label, sgd_label) = RUNS
    sgd, mb, gd = runs[sgd_label], runs[mb_label], runs[gd_label]
    # left: the lecture's picture -- mini-batch costs, noisy but trending down
    ax.plot(mb["x"], mb["batch_loss"], color=COLORS[1], lw=1.0,
            label=f"{mb_label}:\ncost of each mini-batch ({mb['steps_per_epoch']} per epoch)")
    ax.plot(gd["x"], gd["batch_loss"], "o-", color=COLORS[0], ms=3.5, lw=1.5,
            label=f"{gd_label}")
    ax.set_xlabel("epoch (passes over the m examples)")
    ax.set_ylabel("cost J of the step's batch (cross-entropy)")
    ax.set_title(f"Mini-batch vs batch gradient descent, α = {LEARNING_RATE}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    # right: stochastic GD, one example per step, on a log scale
    ax_s.plot(sgd["x"], sgd["batch_loss"], color=COLORS[2], lw=0.3, alpha=0.35,
              antialiased=False,  # keeps the PNG of 36k noisy points small
              label="stochastic GD (batch_size=1): cost of each example")
    window = max(1, sgd["steps_per_epoch"] // 10)
    ma = moving_average(sgd["batch_loss"], window)
    ax_s.plot(sgd["x"][window - 1:], ma, color="tab:red", lw=1.2,
              label=f"stochastic GD, moving average of {window} examples")
    ax_s.plot(mb["x"], mb["batch_loss"], color=COLORS[1], lw=1.0, label="mini-batch GD (64)")
    ax_s.plot(gd["x"], gd["batch_loss"], "o-", color=COLORS[0], ms=3, lw=1.2, label="batch GD")
    ax_s.set_yscale("log")
    ax_s.set_ylim(1e-4, 30)
    ax_s.set_xlabel("epoch (passes over the m examples)")
    ax_s.set_ylabel("cost J of the step's batch (log scale)")
    ax_s.set_title(f"Stochastic GD: {sgd['steps_per_epoch']} steps per epoch")
    ax_s.grid(True, which="major", alpha=0.3)
    ax_s.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"{description}, m = {m}, [64 → 64 relu → 10 softmax], plain GD, same initial "
                 "weights for the three runs", fontsize=10)
    path = out / "minibatch.png"
    fig.savefig(path, dpi=100)

    # ------------------------------------------------------------ summary
    def first_last(r):
        s = r["steps_per_epoch"]
        return float(np.mean(r["batch_loss"][:s])), float(np.mean(r["batch_loss"][-s:]))

    mb_first, mb_last = first_last(mb)
    # spread of the batch costs within the last epoch, relative to their mean
    noise = {label: float(np.std(r["batch_loss"][-r["steps_per_epoch"]:])
                          / np.mean(r["batch_loss"][-r["steps_per_epoch"]:]))
             for label, r in runs.items()}
    print(f"Plain GD (α = {LEARNING_RATE}) on {description}, m = {m}, {epochs} epochs, same "
          f"initial weights. Steps per epoch: batch GD {gd['steps_per_epoch']}, mini-batch "
          f"{mb['steps_per_epoch']}, stochastic {sgd['steps_per_epoch']}. Cost on the whole "
          f"training set after training: batch GD {gd['final_cost']:.4f}, mini-batch 64 "
          f"{mb['final_cost']:.4f}, stochastic {sgd['final_cost']:.4f}. The mini-batch cost "
          f"is noisy (std/mean of the batch costs of the last epoch {noise[mb_label]:.2f}; "
          f"stochastic {noise[sgd_label]:.2f}, per example) but trends down: mean "
          f"{mb_first:.3f} over the first epoch, {mb_last:.3f} over the last. Training time: "
          f"batch GD {gd['seconds'][-1]:.3f} s, mini-batch {mb['seconds'][-1]:.3f} s, "
          f"stochastic {sgd['seconds'][-1]:.3f} s. Figure: {path}")
    return {"figures": [str(path)], "epochs": epochs, "m": m,
            "steps_per_epoch": {label: r["steps_per_epoch"] for label, r in runs.items()},
            "n_batch_losses": {label: len(r["batch_loss"]) for label, r in runs.items()},
            "final_cost": {"batch": gd["final_cost"], "minibatch": mb["final_cost"],
                           "stochastic": sgd["final_cost"]},
            "minibatch_first_epoch_mean": mb_first, "minibatch_last_epoch_mean": mb_last,
            "batch_loss_noise": {"minibatch": noise[mb_label], "stochastic": noise[sgd_label]},
            "seconds": {"batch": gd["seconds"][-1], "minibatch": mb["seconds"][-1],
                        "stochastic": sgd["seconds"][-1]}}


if __name__ == "__main__":
    main(sys.argv[1:])
