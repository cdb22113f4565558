"""Vanishing / exploding activations, and why He initialization trains deep ReLU nets.

(a) The lecture's thought experiment (item 9): a deep network of linear layers
    with ``W = 1.5 I`` (or ``0.5 I``) and ``b = 0`` multiplies its input by 1.5
    (0.5) at every layer, so the activations of layer l have norm
    ``1.5**l ||x||`` -- they explode -- or ``0.5**l ||x||`` -- they vanish. The
    activations are computed with ``fastdnn.functional.dense_forward``, layer by
    layer, and compared with the theoretical lines.

(b) A deep ReLU network on scikit-learn's digits (15 hidden layers of 64 units,
    softmax output, normalized inputs) initialized three ways: ``he_normal``
    (Var(w) = 2/n_prev, the lecture's advice for ReLU), ``xavier_normal``
    (Var(w) = 1/n_prev, for tanh) and ``random_normal(stddev=0.01)`` (the
    classic ``randn * 0.01``). For a ReLU layer E[a^2] is multiplied by
    ``n_prev Var(w) / 2`` per layer: 1 for He, 1/2 for Xavier, 0.0032 for 0.01 --
    the standard deviation of the activations at initialization keeps its size,
    falls by 1/sqrt(2) or by 0.057 per layer. Then the three are trained with
    the same plain gradient descent: He trains, Xavier (whose last layers start
    with activations ~200 times smaller) only begins to move after some 35
    epochs, 0.01 stalls at the cost of a uniform guess, ln 10.

Run ``python examples/initialization.py [--quick] [--out DIR]``; the figures are
written to ``examples/figures/initialization_linear.png`` and
``examples/figures/initialization_relu.png`` by default.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from fastdnn import optimizers
from fastdnn._datasets import load
from fastdnn.functional import dense_forward
from fastdnn.initializers import RandomNormal
from fastdnn.layers import Dense, Input, Normalizer
from fastdnn.models import Sequential

FIGURES = Path(__file__).resolve().parent / "figures"
DEPTH_LINEAR = 30
HIDDEN_LAYERS = 15
UNITS = 64
LEARNING_RATE = 0.02
INITS = {  # label: (initializer, per-layer factor of the activations' RMS for ReLU)
    "he_normal  (Var = 2/n)": ("he_normal", 1.0),
    "xavier_normal  (Var = 1/n)": ("xavier_normal", math.sqrt(0.5)),
    "random_normal(stddev=0.01)": (None, 0.01 * math.sqrt(UNITS / 2)),
}
COLORS = ["tab:green", "tab:blue", "tab:red"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few epochs (for tests)")
    p.add_argument("--out", default=str(FIGURES),
                   help="directory of the PNGs (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=None, help="default 40 (10 with --quick)")
    p.add_argument("--learning-rate", type=float, default=LEARNING_RATE,
                   help="plain GD's learning rate (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def linear_chain(scale, depth, X):
    """Norms ``||A^[l]||`` for l = 0..depth of ``depth`` linear layers ``W = scale I``, b = 0."""
    n = X.shape[0]
    W = scale * np.eye(n)
    b = np.zeros((n, 1))
    A = X
    norms = [float(np.linalg.norm(A))]
    for l in range(1, depth + 1):
        A, _ = dense_forward(A, W, b, "linear", layer=l)
        norms.append(float(np.linalg.norm(A)))
    return np.array(norms)


def deep_relu_model(initializer, n_features, Xtr, seed, learning_rate=LEARNING_RATE):
    norm = Normalizer()
    norm.adapt(Xtr)
    hidden = [Dense(UNITS, activation="relu", kernel_initializer=initializer)
              for _ in range(HIDDEN_LAYERS)]
    model = Sequential([Input(n_features), norm, *hidden, Dense(10, activation="softmax")],
                       seed=seed)
    model.compile(optimizer=optimizers.GD(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.build()
    return model


def hidden_activation_std(model, X):
    """Standard deviation of A^[l] over all units and examples, for each hidden layer."""
    layers = [l for l in model.layers if not isinstance(l, Input)]
    A = np.asfortranarray(X.T, dtype=model.dtype)       # (n_features, m), one column per example
    stds = []
    for layer in layers:
        A = layer.forward(A, training=False)
        if isinstance(layer, Dense) and layer.activation.name == "relu":
            stds.append(float(np.std(A, dtype=np.float64)))
    return np.array(stds)


def main(argv=None):
    args = parse_args(argv)
    epochs = args.epochs or (10 if args.quick else 40)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from matplotlib.figure import Figure

    # ------------------------------------------------------------ (a) linear chain
    rng = np.random.default_rng(args.seed)
    X = rng.normal(size=(8, 100))                       # 8 features, 100 examples, float64
    layers = np.arange(DEPTH_LINEAR + 1)
    chains = {}
    for scale in (1.5, 0.5):
        norms = linear_chain(scale, DEPTH_LINEAR, X)
        ratio = norms / norms[0]
        theory = scale ** layers
        chains[scale] = {"ratio": ratio, "theory": theory,
                         "max_rel_error": float(np.max(np.abs(ratio / theory - 1)))}

    fig = Figure(figsize=(6.5, 4.6), layout="constrained")
    ax = fig.subplots()
    for scale, color in ((1.5, "tab:red"), (0.5, "tab:blue")):
        c = chains[scale]
        ax.plot(layers, c["ratio"], "o", color=color, ms=5,
                label=f"W = {scale}·I: measured ‖A[l]‖ / ‖X‖")
        ax.plot(layers, c["theory"], "-", color=color, lw=1, alpha=0.7,
                label=f"theory {scale}^l")
    ax.set_yscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel("activation norm ‖A[l]‖ / ‖A[0]‖ (log scale)")
    ax.set_title(f"{DEPTH_LINEAR} linear layers, b = 0: exploding and vanishing activations")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9)
    path_linear = out / "initialization_linear.png"
    fig.savefig(path_linear, dpi=100)

    # ------------------------------------------------------------ (b) deep ReLU net
    Xd, yd, description = load("digits", args.seed)
    Xd = Xd.astype(np.float32)
    relu = {}
    for label, (init, factor) in INITS.items():
        initializer = init if init is not None else RandomNormal(stddev=0.01)
        model = deep_relu_model(initializer, Xd.shape[1], Xd, args.seed, args.learning_rate)
        stds = hidden_activation_std(model, Xd)
        history = model.fit(Xd, yd, epochs=epochs, batch_size=64, seed=args.seed, verbose=0)
        relu[label] = {"std": stds, "factor": factor, "loss": history.history["loss"],
                       "accuracy": history.history["accuracy"]}

    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_std, ax_cost = fig.subplots(1, 2)
    hl = np.arange(1, HIDDEN_LAYERS + 1)
    ep = np.arange(1, epochs + 1)
    for color, (label, r) in zip(COLORS, relu.items()):
        ax_std.plot(hl, r["std"], "o-", color=color, ms=4, label=label)
        ax_std.plot(hl, r["std"][0] * r["factor"] ** (hl - 1), ":", color=color, lw=1.2)
        ax_cost.plot(ep, r["loss"], "-", color=color, lw=1.8, label=label)
    ax_std.plot([], [], ":", color="gray", label="theory: × sqrt(n·Var(w)/2) per layer")
    ax_std.set_yscale("log")
    ax_std.set_xlabel("hidden layer l")
    ax_std.set_ylabel("std of the activations A[l] at initialization (log)")
    ax_std.set_title(f"{HIDDEN_LAYERS} ReLU layers of {UNITS} units, before training")
    ax_std.grid(True, which="major", alpha=0.3)
    ax_std.legend(fontsize=8, loc="lower left")
    ax_cost.axhline(math.log(10), color="gray", lw=0.8, ls="--")
    ax_cost.text(epochs * 0.97, math.log(10) * 0.93, "ln 10: uniform guess", ha="right", va="top",
                 fontsize=8, color="gray")
    ax_cost.set_yscale("log")
    ax_cost.set_xlabel("epoch")
    ax_cost.set_ylabel("training cost J (cross-entropy, log)")
    ax_cost.set_title(f"Training: plain GD, α = {args.learning_rate}, mini-batches of 64")
    ax_cost.grid(True, which="major", alpha=0.3)
    ax_cost.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Initialization of a deep ReLU network on {description} "
                 f"[64 → {HIDDEN_LAYERS}×{UNITS} relu → 10 softmax]", fontsize=10)
    path_relu = out / "initialization_relu.png"
    fig.savefig(path_relu, dpi=100)

    # ------------------------------------------------------------ summary
    up, down = chains[1.5], chains[0.5]
    labels = list(relu)
    he, xav, small = (relu[k] for k in labels)
    per_layer = {k: float(np.exp(np.mean(np.diff(np.log(r["std"]))))) for k, r in relu.items()}
    worst = max(up["max_rel_error"], down["max_rel_error"])
    print(f"(a) {DEPTH_LINEAR} linear layers with W = 1.5 I: ‖A[L]‖/‖X‖ = "
          f"{up['ratio'][-1]:.6g} vs 1.5^{DEPTH_LINEAR} = {up['theory'][-1]:.6g}; with W = 0.5 I: "
          f"{down['ratio'][-1]:.6g} vs 0.5^{DEPTH_LINEAR} = {down['theory'][-1]:.6g} (largest "
          f"relative deviation over all layers {worst:.1e}). "
          f"(b) {HIDDEN_LAYERS} ReLU layers of {UNITS} units on {description}: activation std "
          f"at layer 1 / layer {HIDDEN_LAYERS} at initialization: He {he['std'][0]:.3g} / "
          f"{he['std'][-1]:.3g}, Xavier {xav['std'][0]:.3g} / {xav['std'][-1]:.3g}, "
          f"random 0.01 {small['std'][0]:.3g} / {small['std'][-1]:.3g} (mean factor per layer "
          f"{per_layer[labels[0]]:.3f}, {per_layer[labels[1]]:.3f}, {per_layer[labels[2]]:.4f}; "
          f"theory 1, {math.sqrt(0.5):.3f}, {0.01 * math.sqrt(UNITS / 2):.4f}). After {epochs} "
          f"epochs of GD (α = {args.learning_rate}) the training cost is He {he['loss'][-1]:.4f} "
          f"(accuracy {he['accuracy'][-1]:.3f}), Xavier {xav['loss'][-1]:.4f} "
          f"({xav['accuracy'][-1]:.3f}), random 0.01 {small['loss'][-1]:.4f} "
          f"({small['accuracy'][-1]:.3f}; ln 10 = {math.log(10):.4f}). "
          f"Figures: {path_linear}, {path_relu}")
    return {"figures": [str(path_linear), str(path_relu)], "epochs": epochs,
            "linear": {scale: {"ratio_L": float(c["ratio"][-1]), "theory_L": float(c["theory"][-1]),
                               "max_rel_error": c["max_rel_error"]}
                       for scale, c in chains.items()},
            "std": {"he": he["std"].tolist(), "xavier": xav["std"].tolist(),
                    "random_normal_0.01": small["std"].tolist()},
            "std_factor_per_layer": dict(zip(("he", "xavier", "random_normal_0.01"),
                                             per_layer.values())),
            "final_loss": {"he": he["loss"][-1], "xavier": xav["loss"][-1],
                           "random_normal_0.01": small["loss"][-1]},
            "final_accuracy": {"he": he["accuracy"][-1], "xavier": xav["accuracy"][-1],
                               "random_normal_0.01": small["accuracy"][-1]}}


if __name__ == "__main__":
    main(sys.argv[1:])
