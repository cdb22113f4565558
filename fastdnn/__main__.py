"""Command line: ``python -m fastdnn demo`` and ``python -m fastdnn info``."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m fastdnn`` and the ``fastdnn`` script."""
    parser = argparse.ArgumentParser(prog="fastdnn", description="fastdnn command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print version, SIMD path, threads and BLAS, and why")
    demo = sub.add_parser("demo", help="train a network on digits and compare with NumPy")
    demo.add_argument("--dataset", default="digits",
                      choices=["digits", "breast_cancer", "generated"])
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--batch-size", type=int, default=32)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    demo.add_argument("--no-reference", action="store_true",
                      help="skip the plain NumPy training")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run

        run(args.dataset, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
            numpy_reference=not args.no_reference, verbose=args.verbose)
    if args.command == "info":
        from . import info

        details = info()
        decisions = details.pop("decisions")
        for key, value in details.items():
            print(f"{key:15s}{value}")
        print(f"{'decisions':15s}what fastdnn chose at import, and why:")
        for key, why in decisions.items():
            print(f"  {key + ':':13s}{why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
