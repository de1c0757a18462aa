"""The ember command: train / eval / summary / info / bench, and bad arguments (exit code 2,
an argparse-style message, never a traceback)."""
import json
import os
import subprocess
import sys

import pytest

from ember import cli


def run(*args, cwd=None):
    """ember as a user runs it: a separate process, its exit code and output."""
    proc = subprocess.run([sys.executable, "-m", "ember.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def test_train_eval_and_resume(tmp_path, capsys):
    out = str(tmp_path)
    rc = cli.main(["train", "--epochs", "2", "--out", out, "--name", "r", "--quiet",
                   "--threads", "1"])
    assert rc == 0
    folder = tmp_path / "r"
    for f in ("checkpoint.safetensors", "last.safetensors", "metrics.json", "history.json",
              "curves.png", "confusion.png", "filters.png"):
        assert (folder / f).is_file(), f
    metrics = json.loads((folder / "metrics.json").read_text())
    assert 0.2 < metrics["test_accuracy"] <= 1 and len(metrics["epochs"]) == 2
    assert metrics["config"]["model"] == "smallcnn" and metrics["parameters"] > 1000
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "wrote" in printed
    rc = cli.main(["eval", "--checkpoint", str(folder / "checkpoint.safetensors")])
    assert rc == 0
    shown = capsys.readouterr().out
    assert "accuracy" in shown and "confusion matrix" in shown
    rc = cli.main(["train", "--resume", str(folder / "last.safetensors"), "--epochs", "3",
                   "--out", out, "--name", "r", "--quiet"])
    assert rc == 0
    hist = json.loads((folder / "history.json").read_text())["epochs"]
    assert [r["epoch"] for r in hist] == [1, 2, 3]


def test_summary_and_info(capsys):
    assert cli.main(["summary", "--model", "lenet5", "--input", "1x28x28",
                     "--num-classes", "10"]) == 0
    assert "Total params: 61,706" in capsys.readouterr().out
    assert cli.main(["info"]) == 0
    text = capsys.readouterr().out
    assert "isa" in text and "smallcnn" in text


@pytest.mark.parametrize("args,msg", [
    (["train", "--model", "nosuchnet"], "unknown model 'nosuchnet'"),
    (["train", "--epochs", "0"], "expected a positive integer"),
    (["train", "--dataset", "cifar10"], "needs --data-root"),
    (["train", "--dataset", "/no/such/folder"], "unknown dataset"),
    (["train", "--optimizer", "lbfgs"], "invalid choice"),
    (["train", "--model", "lenet5", "--epochs", "1"], "does not fit images"),
    (["eval", "--checkpoint", "/no/such/file"], "cannot read"),
    (["summary", "--model", "lenet5", "--input", "28xabc"], "expected sizes like"),
    (["bench", "nosuchbench"], "unknown benchmark"),
    (["train", "--scale-lr", "--epochs", "1"], "--scale-lr needs --distributed"),
    (["frobnicate"], "invalid choice"),
    (["train", "--device", "tpu", "--epochs", "1"], "--device: device: expected one of cpu"),
])
def test_bad_arguments_exit_2_without_traceback(args, msg):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rc, out, err = run(*args, cwd=root)
    assert rc == 2, (rc, out, err)
    assert msg in err and "Traceback" not in err and "Traceback" not in out


@pytest.mark.skipif(__import__("ember").cuda.is_available(), reason="a GPU is usable here")
def test_train_on_cuda_without_a_gpu_says_why():
    rc, out, err = run("train", "--device", "cuda", "--epochs", "1")
    assert rc == 2 and "--device cuda: " in err and "Traceback" not in err
