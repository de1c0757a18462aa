"""The ``ember`` command: ``train``, ``eval``, ``summary``, ``bench``, ``info`` (``config``).

    ember train                      # small CNN on the embedded digits, ~15 s on 2 cores
    ember train --model lenet5 --dataset fashion-mnist --epochs 10
    ember eval --checkpoint runs/smallcnn-digits/checkpoint.safetensors
    ember summary --model resnet18 --input 3x224x224
    ember bench gemm conv --quick
    ember info

Bad arguments give an argparse-style message and exit code 2; a failed run (e.g. a
non-finite loss) prints the reason and exits with 1. Neither prints a traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
from typing import Any, Optional, Sequence, Tuple

from ember.train.recipe import (DATASETS, DEFAULT_EPOCHS, OPTIMIZERS, RecipeError,
                                TrainSettings, build_model, evaluate_checkpoint, run_training)

class UsageError(Exception):
    """A bad argument discovered after parsing (reported like argparse's, exit 2)."""


def cmd_train(a: argparse.Namespace) -> int:
    names = {f.name for f in dataclasses.fields(TrainSettings)}
    return run_training(TrainSettings(**{k: v for k, v in vars(a).items() if k in names}))


def cmd_eval(a: argparse.Namespace) -> int:
    return evaluate_checkpoint(a.checkpoint, a.dataset, a.data_root, a.threads)


# ---------------------------------------------------------------------------- others
def _parse_input(text: str) -> Tuple[int, ...]:
    try:
        dims = tuple(int(p) for p in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 3x224x224, got {text!r}") \
            from None
    if not dims or any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return dims


def cmd_summary(a: argparse.Namespace) -> int:
    import ember

    c = a.input[0] if len(a.input) == 3 else 1
    model, _ = build_model(a.model, a.num_classes, c, a.input[-1])
    try:
        print(ember.summary(model, a.input, max_depth=a.depth))
    except (ValueError, IndexError) as exc:
        raise UsageError(f"--input {'x'.join(map(str, a.input))} does not fit {a.model}: "
                         f"{exc}") from None
    return 0


def _benchmarks_dir() -> Optional[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    for root in (os.getcwd(), os.path.dirname(os.path.dirname(here))):
        path = os.path.join(root, "benchmarks")
        if os.path.isfile(os.path.join(path, "_timing.py")):
            return path
    return None


def cmd_bench(a: argparse.Namespace) -> int:
    folder = _benchmarks_dir()
    if folder is None:
        raise UsageError("the benchmarks are not installed with the package: run `ember bench` "
                         "from a source checkout of ember (the folder that contains "
                         "benchmarks/)")
    available = sorted(f[len("bench_"):-3] for f in os.listdir(folder)
                       if f.startswith("bench_") and f.endswith(".py"))
    names = a.names or available
    unknown = [n for n in names if n not in available]
    if unknown:
        raise UsageError(f"unknown benchmark(s) {', '.join(unknown)}; available: "
                         f"{', '.join(available)}")
    rc = 0
    for n in names:
        cmd = [sys.executable, "-m", f"benchmarks.bench_{n}"] + (["--quick"] if a.quick else [])
        print(f"$ {' '.join(cmd[1:])}", flush=True)
        rc = subprocess.call(cmd, cwd=os.path.dirname(folder)) or rc
    return rc


def cmd_info(a: argparse.Namespace) -> int:
    import platform

    import ember
    from ember.data import datasets

    print(ember.show_config())
    print(f"{'python':<19}  {platform.python_version()}")
    fm = os.path.isdir(datasets.FASHION_MNIST_ROOT)
    print(f"{'fashion-mnist':<19}  {datasets.FASHION_MNIST_ROOT if fm else 'not installed'}"
          + ("" if fm else " (apt-get install dataset-fashion-mnist)"))
    print(f"{'models':<19}  {', '.join(ember.models.list_models())}")
    if getattr(a, "peak", False):
        from ember import _C

        for n in sorted({1, ember.get_num_threads()}):
            print(f"fma peak ({n} thread{'s' if n > 1 else ''}): "
                  f"{_C.fma_peak_gflops(0.3, n, 'float32'):.1f} GFLOPS float32")
    return 0


# ---------------------------------------------------------------------------- main
def _number(kind: type, ok: Any, what: str) -> Any:
    """An argparse type: ``kind(text)`` that must satisfy ``ok``; else an error saying
    ``expected <what>``."""
    def parse(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {what}, got {v}")
        return v

    return parse


_positive_int = _number(int, lambda v: v > 0, "a positive integer")
_fraction = _number(float, lambda v: 0 <= v < 1, "a fraction in [0, 1)")
_positive_float = _number(float, lambda v: v > 0, "a positive number")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ember", description="ember deep learning engine")
    sub = p.add_subparsers(dest="command", required=True, metavar="command")

    t = sub.add_parser("train", help="train a model (default: a small CNN on the embedded "
                                     "digits)", description="Train a zoo model on a dataset.")
    t.add_argument("--model", default="smallcnn", help="zoo model (ember info lists them)")
    t.add_argument("--dataset", default="digits",
                   help=f"{', '.join(DATASETS)}, or a folder of class sub-folders")
    t.add_argument("--data-root", default=None, help="folder of the dataset's files")
    t.add_argument("--epochs", type=_positive_int, default=None, help=f"default {DEFAULT_EPOCHS}")
    t.add_argument("--batch-size", type=_positive_int, default=64)
    t.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default depends on the optimizer)")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw")
    t.add_argument("--weight-decay", type=float, default=5e-4)
    t.add_argument("--label-smoothing", type=_fraction, default=0.1)
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="random shifts (and flips for colour images)")
    t.add_argument("--val-fraction", type=_fraction, default=0.1,
                   help="stratified share of the training split held out for validation")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=_positive_int, default=None)
    t.add_argument("--device", default="cpu",
                   help="where to train: cpu (default), cuda or cuda:N (docs/cuda.md)")
    t.add_argument("--out", default="runs", help="parent folder of the run folder")
    t.add_argument("--name", default=None, help="run folder name (default MODEL-DATASET)")
    t.add_argument("--resume", default=None,
                   help="continue from a last.safetensors (its settings are reused)")
    t.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bars")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over MPI: run under mpiexec -n N; --batch-size is per "
                        "rank (docs/distributed.md)")
    t.add_argument("--scale-lr", action="store_true",
                   help="with --distributed: multiply the learning rate by the number of ranks "
                        "(linear scaling rule) with a linear warm-up over the first epochs")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="evaluate a checkpoint on its dataset's test split")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--dataset", default=None)
    e.add_argument("--data-root", default=None)
    e.add_argument("--threads", type=_positive_int, default=None)
    e.set_defaults(func=cmd_eval)

    s = sub.add_parser("summary", help="layer table, parameters and MACs of a zoo model")
    s.add_argument("--model", required=True)
    s.add_argument("--input", type=_parse_input, default=(3, 224, 224),
                   help="input size CxHxW (default 3x224x224)")
    s.add_argument("--num-classes", type=_positive_int, default=1000)
    s.add_argument("--depth", type=_positive_int, default=None,
                   help="only rows this many levels deep")
    s.set_defaults(func=cmd_summary)

    b = sub.add_parser("bench", help="run the benchmarks (from a source checkout)")
    b.add_argument("names", nargs="*", help="e.g. gemm conv (default: all)")
    b.add_argument("--quick", action="store_true")
    b.set_defaults(func=cmd_bench)

    for name in ("info", "config"):
        i = sub.add_parser(name, help="version, ISA path, threads, datasets")
        i.add_argument("--peak", action="store_true", help="also measure the FMA peak")
        i.set_defaults(func=cmd_info)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UsageError, RecipeError) as exc:
        sub = f"ember {args.command}"
        print(f"usage: see `{sub} --help`\n{sub}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ember: interrupted", file=sys.stderr)
        return 130
    except (FloatingPointError, ValueError, RuntimeError, OSError) as exc:
        print(f"ember {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
