"""Command line: ``python -m fastdnn info``."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m fastdnn`` and the ``fastdnn`` script."""
    parser = argparse.ArgumentParser(prog="fastdnn", description="fastdnn command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print version, SIMD path, threads and BLAS")
    args = parser.parse_args(argv)
    if args.command == "info":
        from . import info

        for key, value in info().items():
            print(f"{key:15s}{value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
