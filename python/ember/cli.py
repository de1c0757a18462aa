"""The ``ember`` command."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="ember", description="ember deep learning engine")
    sub = parser.add_subparsers(dest="command", required=True)
    cfg = sub.add_parser("config", help="show the ISA path, threads, compiler and OpenMP in use")
    cfg.add_argument("--peak", action="store_true",
                     help="also measure this machine's FMA peak (GFLOPS, float32)")
    args = parser.parse_args(argv)

    import ember

    if args.command == "config":
        print(ember.show_config())
        if args.peak:
            from ember import _C

            for n in sorted({1, ember.get_num_threads()}):
                print(f"fma peak ({n} thread{'s' if n > 1 else ''}): "
                      f"{_C.fma_peak_gflops(0.3, n, 'float32'):.1f} GFLOPS float32")
    return 0


if __name__ == "__main__":
    sys.exit(main())
