"""Train a zoo model with ember and the same model with PyTorch: same initial weights (copied
from ember's), same batches in the same order (one seeded ember DataLoader feeds both), same
optimizer, schedule and hyper-parameters. Prints and records test accuracy (or mean IoU) and
wall time of each.

    python examples/compare_torch.py digits-smallcnn
    python examples/compare_torch.py fashion-lenet5
    python examples/compare_torch.py fashion-resnet20          # long: ~1 h on 2 cores
    python examples/compare_torch.py fashion-unet
    python examples/compare_torch.py TASK --framework ember    # ember only (no torch needed)

Each framework runs in its own process (so that their thread pools do not compete) with the
same thread count; results are appended to runs/compare/<task>.json. Fashion-MNIST tasks
need ``apt-get install dataset-fashion-mnist``. torch is used only when installed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

TASKS: Dict[str, Dict[str, Any]] = {
    "digits-smallcnn": dict(data="digits", model="smallcnn", epochs=60, batch=64,
                            opt="adamw", lr=3e-3, wd=5e-4, smoothing=0.1, augment="shift"),
    "fashion-lenet5": dict(data="fashion", model="lenet5", epochs=15, batch=64, opt="sgd",
                           lr=0.05, wd=5e-4, smoothing=0.0, augment="none"),
    "fashion-resnet20": dict(data="fashion", model="resnet20", epochs=30, batch=128, opt="sgd",
                             lr=0.1, wd=5e-4, smoothing=0.0, augment="standard"),
    "fashion-unet": dict(data="fashion-canvas", model="unet", epochs=8, batch=32, opt="adamw",
                         lr=3e-3, wd=1e-4, smoothing=0.0, augment="none"),
}


# ---------------------------------------------------------------------------- data
def canvases(images: np.ndarray, labels: np.ndarray, n: int, seed: int,
             side: int = 48) -> Tuple[np.ndarray, np.ndarray]:
    """Segmentation data from real images: each sample is one Fashion-MNIST garment pasted at
    a random position on a ``side`` x ``side`` canvas of faint noise; the target class of a
    pixel is 1 + the garment's class where the garment has ink (> 25), else 0 (background):
    11 classes, so the net must both find the garment's pixels and recognise it."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(images), n, replace=False)
    x = rng.integers(0, 20, (n, side, side, 1)).astype(np.uint8)
    y = np.zeros((n, side, side), np.int64)
    offs = rng.integers(0, side - 28 + 1, (n, 2))
    for k, (i, (r, c)) in enumerate(zip(idx, offs)):
        img = images[i, :, :, 0]
        win = x[k, r:r + 28, c:c + 28, 0]
        np.maximum(win, img, out=win)
        y[k, r:r + 28, c:c + 28][img > 25] = 1 + labels[i]
    return x, y


def datasets_for(task: Dict[str, Any]) -> Tuple[Any, Any, int]:
    from ember.data import ArrayDataset, datasets

    if task["data"] == "digits":
        return datasets.Digits(True), datasets.Digits(False), 10
    train, test = datasets.FashionMNIST(train=True), datasets.FashionMNIST(train=False)
    if task["data"] == "fashion":
        return train, test, 10
    xtr, ytr = canvases(train.data, train.targets, 12000, seed=1)
    xte, yte = canvases(test.data, test.targets, 2000, seed=2)
    return ArrayDataset(xtr, ytr), ArrayDataset(xte, yte), 11


def transforms_for(task: Dict[str, Any], train_images: np.ndarray) -> Tuple[Any, Any]:
    from ember.data import compute_mean_std
    from ember.data import transforms as T

    mean, std = compute_mean_std(train_images)
    norm = T.Normalize([float(m) for m in mean], [float(s) for s in std])
    size = train_images.shape[1]
    aug = [T.ToTensor()]
    if task["augment"] == "shift":
        aug.append(T.RandomCrop(size, padding=1))
    elif task["augment"] == "standard":
        aug += [T.RandomCrop(size, padding=2), T.RandomHorizontalFlip()]
    return T.Compose(aug + [norm]), T.Compose([T.ToTensor(), norm])


def build_ember(task: Dict[str, Any], num_classes: int, in_ch: int, size: int) -> Any:
    from ember import models

    if task["model"] == "unet":
        return models.unet(num_classes, in_ch, base=16, depth=3)
    if task["model"] == "resnet20":
        return models.resnet20(num_classes, in_ch)
    if task["model"] == "smallcnn":
        return models.smallcnn(num_classes, in_ch, image_size=size)
    return models.lenet5(num_classes, in_ch)


def build_torch(task: Dict[str, Any], num_classes: int, in_ch: int, size: int) -> Any:
    sys.path.insert(0, HERE)
    import torch_models as tm

    if task["model"] == "unet":
        return tm.UNet(in_ch, num_classes, base=16, depth=3)
    if task["model"] == "resnet20":
        return tm.CifarResNet(20, num_classes, in_ch)
    if task["model"] == "smallcnn":
        return tm.smallcnn(num_classes, in_ch, image_size=size)
    return tm.lenet5(num_classes, in_ch)


# ---------------------------------------------------------------------------- runs
def run(name: str, framework: str, threads: int, seed: int, init_path: str) -> Dict[str, Any]:
    import ember
    from ember.data import DataLoader
    from ember.train.metrics import MeanIoU

    task = TASKS[name]
    ember.set_num_threads(threads)
    train, test, num_classes = datasets_for(task)
    train_tf, eval_tf = transforms_for(task, train.data)
    in_ch, size = train.data.shape[3], train.data.shape[1]
    ember.manual_seed(seed)
    em = build_ember(task, num_classes, in_ch, size)
    if framework == "ember" or not os.path.exists(init_path):
        ember.save(em.state_dict(), init_path)  # the torch run starts from these weights
    gen = ember.Generator().manual_seed(seed)
    loader = DataLoader(train, batch_size=task["batch"], shuffle=True, generator=gen,
                        batch_transform=train_tf, num_workers=1)
    test_loader = DataLoader(test, batch_size=128, batch_transform=eval_tf)
    segment = task["model"] == "unet"
    steps = task["epochs"] * len(loader)
    if framework == "ember":
        lib, model = ember, em

        def to_fw(a: Any) -> Any:
            return a
    else:
        import torch

        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        lib, model = torch, build_torch(task, num_classes, in_ch, size)
        state = ember.load(init_path)
        with torch.no_grad():
            for k, t in model.state_dict().items():
                t.copy_(torch.from_numpy(np.asarray(state[k].detach().numpy())).reshape(t.shape))

        def to_fw(a: Any) -> Any:
            return torch.from_numpy(a.detach().numpy())
    # From here on the same code drives either framework.
    opt_cls = {"sgd": lib.optim.SGD, "adamw": lib.optim.AdamW}[task["opt"]]
    kw = {"momentum": 0.9, "nesterov": True} if task["opt"] == "sgd" else {}
    opt = opt_cls(model.parameters(), lr=task["lr"], weight_decay=task["wd"], **kw)
    sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    loss_fn = lib.nn.CrossEntropyLoss(label_smoothing=task["smoothing"])
    start = time.perf_counter()
    for epoch in range(task["epochs"]):
        model.train()
        total, n = 0.0, 0
        for x, y in loader:
            loss = loss_fn(model(to_fw(x)), to_fw(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(y)
            n += len(y)
        print(f"[{framework}] epoch {epoch + 1}: loss {total / n:.4f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    seconds = time.perf_counter() - start
    model.eval()
    metric = MeanIoU(num_classes) if segment else None
    correct = count = 0
    with lib.no_grad():
        for x, y in test_loader:
            out = model(to_fw(x)).numpy()
            if segment:
                metric.update(out, y.numpy())
            else:
                correct += int((out.argmax(1) == y.numpy()).sum())
                count += len(y)
    score = metric.compute() if segment else correct / count
    return {"task": name, "framework": framework, "metric": "mean_iou" if segment else
            "test_accuracy", "value": float(score), "seconds": seconds, "threads": threads,
            "seed": seed, "epochs": task["epochs"], "hyper": task}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("task", choices=sorted(TASKS))
    p.add_argument("--framework", choices=("both", "ember", "torch"), default="both")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/compare")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    init_path = os.path.join(a.out, f"{a.task}-init-{a.seed}.safetensors")
    if a.framework == "both":
        frameworks = ["ember"]
        try:
            import torch  # noqa: F401

            frameworks.append("torch")
        except ImportError:
            print("torch is not installed: running ember only", flush=True)
        for fw in frameworks:
            rc = subprocess.call([sys.executable, __file__, a.task, "--framework", fw,
                                  "--threads", str(a.threads), "--seed", str(a.seed),
                                  "--out", a.out])
            if rc:
                sys.exit(rc)
        return
    res = run(a.task, a.framework, a.threads, a.seed, init_path)
    print(json.dumps(res), flush=True)
    path = os.path.join(a.out, f"{a.task}.json")
    rows = json.load(open(path)) if os.path.exists(path) else []
    rows.append(res)
    from ember.utils import atomic_write

    text = json.dumps(rows, indent=2)
    atomic_write(path, lambda f: f.write(text), mode="w")
    print(f"{a.framework}: {res['metric']} {res['value']:.4f} in {res['seconds']:.0f} s")


if __name__ == "__main__":
    main()
