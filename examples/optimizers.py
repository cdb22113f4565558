"""GD, Momentum, RMSprop and Adam compared: cost vs epochs at the same learning rate.

The lecture (item 11) trains one network with gradient descent, momentum and
Adam at learning rate 0.001 and shows that Adam converges fastest. This script
does the same with fastdnn on scikit-learn's handwritten digits
(``[64 -> 64 relu -> 10 softmax]``, normalized inputs, mini-batches of 64):
the four optimizers start from the same initial weights (the same model seed)
and see the same mini-batches in the same order (the same fit seed).

Run ``python examples/optimizers.py [--quick] [--out DIR]``; the figure is
written to ``examples/figures/optimizers.png`` by default.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from fastdnn import optimizers
from fastdnn._datasets import load, train_test_split
from fastdnn.layers import Dense, Input, Normalizer
from fastdnn.models import Sequential

FIGURES = Path(__file__).resolve().parent / "figures"
LEARNING_RATE = 0.001
COLORS = {"GD": "tab:blue", "Momentum": "tab:orange", "RMSprop": "tab:green", "Adam": "tab:red"}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few epochs (for tests)")
    p.add_argument("--out", default=str(FIGURES),
                   help="directory of the PNG (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=None, help="default 100 (5 with --quick)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def make_optimizers():
    """The four optimizers of the comparison, library defaults except the rate."""
    return {"GD": optimizers.GD(LEARNING_RATE),
            "Momentum": optimizers.Momentum(LEARNING_RATE),          # beta = 0.9
            "RMSprop": optimizers.RMSprop(LEARNING_RATE),            # beta = 0.999
            "Adam": optimizers.Adam(LEARNING_RATE)}                  # 0.9, 0.999, 1e-8


def first_epoch_below(losses, threshold):
    """1-based epoch at which the cost first drops below ``threshold`` (None if never)."""
    hits = np.nonzero(np.asarray(losses) < threshold)[0]
    return int(hits[0]) + 1 if hits.size else None


def main(argv=None):
    args = parse_args(argv)
    epochs = args.epochs or (5 if args.quick else 100)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, y, description = load("digits", args.seed)
    X = X.astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y, 0.25, args.seed)

    runs = {}
    initial = None
    for name, opt in make_optimizers().items():
        norm = Normalizer()
        norm.adapt(Xtr)
        model = Sequential([Input(X.shape[1]), norm, Dense(64, activation="relu"),
                            Dense(10, activation="softmax")], seed=args.seed)
        model.compile(optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy"])
        model.build()
        weights = model.get_weights()
        if initial is None:
            initial = weights
        same_start = all(np.array_equal(a, b) for a, b in zip(initial, weights))
        history = model.fit(Xtr, ytr, epochs=epochs, batch_size=64, seed=args.seed,
                            validation_data=(Xte, yte), verbose=0)
        runs[name] = {"loss": history.history["loss"],
                      "val_accuracy": history.history["val_accuracy"],
                      "same_initial_weights": same_start}

    # ------------------------------------------------------------ figure
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_cost, ax_acc = fig.subplots(1, 2)
    ep = np.arange(1, epochs + 1)
    for name, r in runs.items():
        ax_cost.plot(ep, r["loss"], color=COLORS[name], lw=1.8, label=name)
        ax_acc.plot(ep, r["val_accuracy"], color=COLORS[name], lw=1.8, label=name)
    ax_cost.set_yscale("log")
    ax_cost.set_xlabel("epoch")
    ax_cost.set_ylabel("training cost J (categorical cross-entropy)")
    ax_cost.set_title(f"Cost vs epochs, learning rate α = {LEARNING_RATE}")
    ax_cost.grid(True, which="both", alpha=0.3)
    ax_cost.legend()
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("test accuracy")
    ax_acc.set_title("Accuracy on the held-out 25 %")
    ax_acc.grid(True, alpha=0.3)
    ax_acc.legend(loc="lower right")
    fig.suptitle(f"Optimizers on {description} [64 → 64 relu → 10 softmax], "
                 "mini-batches of 64, same initial weights", fontsize=10)
    path = out / "optimizers.png"
    fig.savefig(path, dpi=100)

    # ------------------------------------------------------------ summary
    final = {name: r["loss"][-1] for name, r in runs.items()}
    acc = {name: r["val_accuracy"][-1] for name, r in runs.items()}
    to_01 = {name: first_epoch_below(r["loss"], 0.1) for name, r in runs.items()}
    order = sorted(final, key=final.get)
    parts = ", ".join(f"{n} {final[n]:.4f} (test accuracy {acc[n]:.3f})" for n in runs)
    reach = ", ".join(f"{n} {'never' if to_01[n] is None else f'epoch {to_01[n]}'}"
                      for n in runs)
    print(f"Optimizers at learning rate {LEARNING_RATE} on {description} ({len(ytr)} training "
          f"examples), {epochs} epochs of mini-batches of 64, same initial weights and batch "
          f"order for all four. Final training cost: {parts}. Cost below 0.1 first reached: "
          f"{reach}. Ranking by final cost: {' < '.join(order)}. GD and Momentum (v = βv + "
          f"(1-β)g, same step size as GD on average) move together; the adaptive methods, "
          f"which divide by the root of the squared-gradient average, are far ahead. "
          f"Figure: {path}")
    return {"figures": [str(path)], "epochs": epochs, "final_loss": final,
            "test_accuracy": acc, "epoch_below_0.1": to_01,
            "loss": {n: r["loss"] for n, r in runs.items()},
            "same_initial_weights": all(r["same_initial_weights"] for r in runs.values())}


if __name__ == "__main__":
    main(sys.argv[1:])
