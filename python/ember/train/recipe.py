"""The training recipe behind ``ember train`` and ``ember eval``: data, transforms, model,
optimizer and schedule from a few settings, the fit, and the run folder it writes. The
``ember`` command (``ember.cli``) parses its arguments into :class:`TrainSettings` and calls
:func:`run_training`; a script can do the same."""
from __future__ import annotations

import dataclasses
import inspect
import json
import os
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ember._files import atomic_write

__all__ = ["TrainSettings", "RecipeError", "run_training", "evaluate_checkpoint",
           "load_data", "make_transforms", "build_model", "make_optimizer", "DATASETS",
           "OPTIMIZERS", "DEFAULT_EPOCHS"]

DEFAULT_EPOCHS = 60
DATASETS = ("digits", "embedded", "fashion-sample", "fashion-mnist", "mnist", "cifar10")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta")


class RecipeError(Exception):
    """A bad setting of a run (the data set, model or optimizer it names); ``ember train``
    reports it as a usage error (exit code 2)."""


@dataclasses.dataclass
class TrainSettings:
    """The settings of one run (``ember train --help`` explains each). ``epochs`` None means
    DEFAULT_EPOCHS, or the resumed run's count with ``resume``; ``lr`` None the
    optimizer's default."""

    model: str = "smallcnn"
    dataset: str = "digits"
    data_root: Optional[str] = None
    epochs: Optional[int] = None
    batch_size: int = 64
    lr: Optional[float] = None
    optimizer: str = "adamw"
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    augment: bool = True
    val_fraction: float = 0.1
    seed: int = 0
    threads: Optional[int] = None
    out: str = "runs"
    name: Optional[str] = None
    resume: Optional[str] = None
    quiet: bool = False
    distributed: bool = False
    scale_lr: bool = False
    device: str = "cpu"


def load_data(name: str, root: Optional[str]) -> Tuple[Any, Any, str]:
    """(train dataset, test dataset, canonical name) for ``--dataset``."""
    from ember.data import datasets, stratified_split

    try:
        if name in ("digits", "embedded"):
            return datasets.Digits(True), datasets.Digits(False), "digits"
        if name == "fashion-sample":
            return (datasets.EmbeddedFashionMNIST(True), datasets.EmbeddedFashionMNIST(False),
                    "fashion-sample")
        if name == "fashion-mnist":
            return (datasets.FashionMNIST(root, True), datasets.FashionMNIST(root, False),
                    "fashion-mnist")
        if name == "mnist":
            if root is None:
                raise RecipeError("--dataset mnist needs --data-root (the folder with the IDX "
                                 "files)")
            return datasets.MNIST(root, True), datasets.MNIST(root, False), "mnist"
        if name == "cifar10":
            if root is None:
                raise RecipeError("--dataset cifar10 needs --data-root (the folder with the "
                                 "binary batches)")
            return datasets.CIFAR10(root, True), datasets.CIFAR10(root, False), "cifar10"
        if os.path.isdir(name):
            full = datasets.ImageFolder(name, size=(32, 32))
            train, test = stratified_split(full, (0.8, 0.2), seed=0)
            train.classes = test.classes = full.classes  # type: ignore[attr-defined]
            return train, test, os.path.basename(os.path.normpath(name))
    except datasets.DatasetError as exc:
        raise RecipeError(str(exc)) from None
    raise RecipeError(f"--dataset: unknown dataset {name!r} (choose from "
                     f"{', '.join(DATASETS)}, or give a folder of class sub-folders)")


def _images(ds: Any) -> np.ndarray:
    from ember.data import Subset

    if isinstance(ds, Subset):
        return _images(ds.dataset)[ds.indices]
    return ds.data


def _labels(ds: Any) -> np.ndarray:
    from ember.data import Subset

    if isinstance(ds, Subset):
        return _labels(ds.dataset)[ds.indices]
    return ds.targets


def make_transforms(train_images: np.ndarray, augment: bool) -> Tuple[Any, Any, Dict]:
    """(train batch transform, eval batch transform, normalisation) for HWC uint8 images:
    per-channel mean/std from the training split only; augmentation by size: small shifts
    (pad-and-crop) for digits and 28x28 grayscale, plus horizontal flips for colour images."""
    from ember.data import compute_mean_std
    from ember.data import transforms as T

    mean, std = compute_mean_std(train_images)
    mean, std = [float(m) for m in mean], [max(float(s), 1e-3) for s in std]
    h, c = train_images.shape[1], train_images.shape[3]
    norm = T.Normalize(mean, std)
    aug: List[Any] = [T.ToTensor()]
    if augment:
        aug.append(T.RandomCrop(h, padding=max(1, h // 8)))
        if c == 3:
            aug.append(T.RandomHorizontalFlip())
    aug.append(norm)
    return T.Compose(aug), T.Compose([T.ToTensor(), norm]), {"mean": mean, "std": std}


# ---------------------------------------------------------------------------- models
def build_model(name: str, num_classes: int, in_channels: int, image_size: int,
                extra: Optional[Dict[str, Any]] = None) -> Tuple[Any, Dict[str, Any]]:
    """(model, the keyword arguments used): the zoo function receives num_classes,
    in_channels and image_size where its signature has them."""
    from ember import models

    if name not in models.list_models():
        raise RecipeError(f"--model: unknown model {name!r} (available: "
                         f"{', '.join(models.list_models())})")
    fn = getattr(models, name, None) or (lambda **kw: models.get_model(name, **kw))
    params = inspect.signature(models.get_model.__globals__["_MODELS"][name]).parameters
    kwargs = {"num_classes": num_classes}
    if "in_channels" in params:
        kwargs["in_channels"] = in_channels
    if "image_size" in params:
        kwargs["image_size"] = image_size
    kwargs.update(extra or {})
    try:
        return fn(**kwargs), kwargs
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"--model {name}: {exc}") from None


def _check_model_fits(model: Any, shape: Tuple[int, ...], name: str) -> None:
    import ember

    try:
        with ember.no_grad():
            model.eval()
            model(ember.zeros(2, *shape))
            model.train()
    except (ValueError, IndexError, RuntimeError) as exc:
        raise RecipeError(f"--model {name} does not fit images of shape {list(shape)}: "
                         f"{exc}") from None


def make_optimizer(name: str, params: Any, lr: Optional[float], weight_decay: float) -> Any:
    import ember

    defaults = {"sgd": 0.05, "adam": 3e-3, "adamw": 3e-3, "rmsprop": 1e-3, "adagrad": 1e-2,
                "adadelta": 1.0}
    lr = defaults[name] if lr is None else lr
    cls = {"sgd": ember.optim.SGD, "adam": ember.optim.Adam, "adamw": ember.optim.AdamW,
           "rmsprop": ember.optim.RMSprop, "adagrad": ember.optim.Adagrad,
           "adadelta": ember.optim.Adadelta}[name]
    kw: Dict[str, Any] = {"lr": lr, "weight_decay": weight_decay}
    if name == "sgd":
        kw.update(momentum=0.9, nesterov=True)
    try:
        return cls(params, **kw)
    except ValueError as exc:
        raise RecipeError(str(exc)) from None


# ---------------------------------------------------------------------------- train
def _run_config(a: "TrainSettings") -> Dict[str, Any]:
    return {"model": a.model, "dataset": a.dataset, "data_root": a.data_root,
            "epochs": a.epochs, "batch_size": a.batch_size, "lr": a.lr,
            "optimizer": a.optimizer, "weight_decay": a.weight_decay, "augment": a.augment,
            "seed": a.seed, "val_fraction": a.val_fraction, "label_smoothing": a.label_smoothing}


def _say(main: bool, text: str) -> None:
    if main:
        print(text, flush=True)


def _init_distributed(a: "TrainSettings") -> Any:
    """The MPI world for --distributed (a world of one otherwise). Each rank defaults to its
    share of the machine's cores (ranks x threads <= cores)."""
    from ember.distributed import World

    if not getattr(a, "distributed", False):
        if getattr(a, "scale_lr", False):
            raise RecipeError("--scale-lr needs --distributed")
        return World(0, 1, 0, 1)
    try:
        import ember.distributed as dist

        world = dist.init()
    except ImportError as exc:
        raise RecipeError(f"--distributed: {exc}") from None
    if a.threads is None:
        import ember

        a.threads = max(1, (os.cpu_count() or 1) // world.local_size)
        ember.set_num_threads(a.threads)
    return world


def _schedule(a: "TrainSettings", opt: Any, world: Any) -> Any:
    """Cosine over the epochs; with --scale-lr the lr is multiplied by the number of ranks
    and reached by a linear warm-up over the first epochs (Goyal et al. 2017: 5 of 90;
    here a quarter of the run, at most 5)."""
    import ember

    lrs = ember.optim.lr_scheduler
    warm = min(5, a.epochs // 4) if a.scale_lr and world.size > 1 else 0
    if a.scale_lr and world.size > 1:
        for g in opt.param_groups:
            g["lr"] *= world.size
    if warm == 0:
        return lrs.CosineAnnealingLR(opt, T_max=a.epochs)
    return lrs.SequentialLR(opt, [lrs.LinearLR(opt, start_factor=1.0 / world.size,
                                               total_iters=warm),
                                  lrs.CosineAnnealingLR(opt, T_max=a.epochs - warm)],
                            milestones=[warm])


def run_training(a: "TrainSettings") -> int:
    """Train ``a.model`` on ``a.dataset`` (the body of ``ember train``): hold out a
    stratified validation share, normalise with the training split's statistics, keep the
    checkpoint with the best validation loss, evaluate it on the test split and write the
    run folder (checkpoints, metrics.json, history.json, plots). Returns 0."""
    import ember
    from ember import nn
    from ember.data import DataLoader, Subset, stratified_split
    from ember.train import JSONLogger, ModelCheckpoint, Trainer
    from ember.train.metrics import confusion_matrix, per_class_accuracy
    from ember.utils import visualize

    a = dataclasses.replace(a)  # settings filled in below stay the caller's
    try:
        device = ember.device(a.device)
    except (RuntimeError, TypeError) as exc:
        raise RecipeError(f"--device: {exc}") from None
    if device.type == "cuda" and not ember.cuda.is_available():
        raise RecipeError(f"--device {a.device}: {ember.cuda.unavailable_reason()}")
    if a.resume:
        state = ember.load(a.resume)
        if not isinstance(state, dict) or "config" not in state:
            raise RecipeError(f"--resume: {a.resume!r} is not an ember training checkpoint")
        cfg = dict(state["config"])
        cfg["epochs"] = a.epochs if a.epochs is not None else cfg["epochs"]
        for key in ("model", "dataset", "data_root", "batch_size", "lr", "optimizer",
                    "weight_decay", "augment", "seed", "val_fraction", "label_smoothing"):
            setattr(a, key, cfg[key])
        a.epochs = cfg["epochs"]
    elif a.epochs is None:
        a.epochs = DEFAULT_EPOCHS
    world = _init_distributed(a)
    main = world.rank == 0
    if a.threads is not None:
        ember.set_num_threads(a.threads)
    ember.manual_seed(a.seed)
    train_full, test, data_name = load_data(a.dataset, a.data_root)
    classes = list(getattr(train_full, "classes", None) or [])
    num_classes = len(classes) or int(_labels(train_full).max()) + 1
    images = _images(train_full)
    if a.val_fraction > 0:
        train_set, val_set = stratified_split(train_full, (1 - a.val_fraction, a.val_fraction),
                                              labels=_labels(train_full), seed=a.seed)
    else:
        train_set, val_set = Subset(train_full, np.arange(len(train_full))), None
    train_tf, eval_tf, norm = make_transforms(_images(train_set), a.augment)
    h, c = images.shape[1], images.shape[3]
    model, model_kwargs = build_model(a.model, num_classes, c, h)
    _check_model_fits(model, (c, h, images.shape[2]), a.model)
    params = sum(p.numel() for p in model.parameters())
    opt = make_optimizer(a.optimizer, model.parameters(), a.lr, a.weight_decay)
    sched, sampler = _schedule(a, opt, world), None
    if world.size > 1:
        import ember.distributed as dist

        dist.broadcast_parameters(model)  # every rank starts from rank 0's weights
        sampler = dist.DistributedSampler(train_set, shuffle=True, seed=a.seed)
        opt = dist.DistributedOptimizer(opt)
    train_loader = DataLoader(train_set, batch_size=a.batch_size, shuffle=sampler is None,
                              sampler=sampler, batch_transform=train_tf, num_workers=1)
    val_loader = (DataLoader(val_set, batch_size=256, batch_transform=eval_tf)
                  if val_set is not None else None)
    test_loader = DataLoader(test, batch_size=256, batch_transform=eval_tf)
    name = a.name or f"{a.model}-{data_name}"
    out = os.path.join(a.out, name)
    os.makedirs(out, exist_ok=True)
    best_path = os.path.join(out, "checkpoint.safetensors")
    last_path = os.path.join(out, "last.safetensors")
    config = {**_run_config(a), "dataset": data_name, "model_kwargs": model_kwargs,
              "classes": classes, "normalize": norm, "image_shape": [c, h, images.shape[2]]}
    monitor = "val_loss" if val_loader is not None else "loss"

    class SaveLast(ember.train.Callback):
        def on_epoch_end(self, trainer: Any, epoch: int, logs: Dict[str, float]) -> None:
            trainer.save_checkpoint(last_path)

    quiet = (2 if a.quiet else 1) if main else 0
    dist_note = (f", {world.size} ranks x batch {a.batch_size} (global "
                 f"{world.size * a.batch_size})" if world.size > 1 else "")
    _say(main, f"ember train: {a.model} ({params:,} parameters) on {data_name}: "
          f"{len(train_set)} train / {len(val_set) if val_set is not None else 0} validation / "
          f"{len(test)} test images of {c}x{h}x{images.shape[2]}, {num_classes} classes; "
          f"{a.optimizer} lr {opt.param_groups[0]['lr']:g}, cosine schedule, batch "
          f"{a.batch_size}, {a.epochs} epochs, augment {'on' if a.augment else 'off'}, "
          f"{ember.get_num_threads()} threads, {ember.config()['isa']}{dist_note}")
    loss_fn = nn.CrossEntropyLoss(label_smoothing=a.label_smoothing)
    callbacks = ([ModelCheckpoint(best_path, monitor=monitor), SaveLast(),
                  JSONLogger(os.path.join(out, "history.json"))] if main else [])
    trainer = Trainer(model, loss_fn, opt, sched, ["accuracy"], callbacks, verbose=quiet,
                      config=config, device=device)
    start = time.perf_counter()
    history = trainer.fit(train_loader, a.epochs, val_loader, resume=a.resume or None)
    seconds = time.perf_counter() - start
    if not main:  # rank 0 evaluates, plots and writes the run folder
        return 0
    best = ember.load(best_path)
    model.load_state_dict(best["model"])
    preds, targets = [], []
    model.eval()
    with ember.no_grad():
        for x, y in test_loader:
            preds.append(model(x.to(device)).cpu().numpy().argmax(1))
            targets.append(y.numpy())
    pred, target = np.concatenate(preds), np.concatenate(targets)
    test_acc = float((pred == target).mean())
    cm = confusion_matrix(pred, target, num_classes)
    per_class = per_class_accuracy(cm)
    visualize.plot_history(history, os.path.join(out, "curves.png"),
                           title=f"{a.model} on {data_name}")
    visualize.plot_confusion_matrix(cm, os.path.join(out, "confusion.png"), classes or None,
                                    title=f"test confusion matrix ({test_acc:.2%})")
    first_conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first_conv is not None:
        visualize.plot_filters(first_conv.weight, os.path.join(out, "filters.png"))
    metrics = {"test_accuracy": test_acc,
               "per_class_accuracy": {(classes[i] if classes else str(i)): float(v)
                                      for i, v in enumerate(per_class)},
               "confusion_matrix": cm.tolist(), "best_epoch": int(best["epoch"]),
               "epochs": history.rows(), "train_seconds": seconds, "parameters": params,
               "config": config, "ember": ember.config()}
    text = json.dumps(metrics, indent=2)
    atomic_write(os.path.join(out, "metrics.json"), lambda f: f.write(text), mode="w")
    print(f"test accuracy {test_acc:.2%} (best validation epoch {best['epoch']}, "
          f"{seconds:.1f} s of training)")
    print("per class: " + ", ".join(f"{(classes[i] if classes else i)} {v:.0%}"
                                    for i, v in enumerate(per_class)))
    print(f"wrote {out}/: checkpoint.safetensors, last.safetensors, metrics.json, "
          "history.json, curves.png, confusion.png" + (", filters.png" if first_conv else ""))
    return 0


def evaluate_checkpoint(checkpoint: str, dataset: Optional[str] = None,
                        data_root: Optional[str] = None, threads: Optional[int] = None) -> int:
    """Evaluate a checkpoint written by ``run_training`` on its data set's test split (the
    body of ``ember eval``): accuracy, top-5, per-class accuracy and the confusion matrix,
    printed. Returns 0."""
    import ember
    from ember.data import DataLoader
    from ember.data import transforms as T
    from ember.train.metrics import confusion_matrix, per_class_accuracy

    try:
        state = ember.load(checkpoint)
    except (FileNotFoundError, ValueError) as exc:
        raise RecipeError(f"--checkpoint: {exc}") from None
    if not isinstance(state, dict) or "config" not in state or "model" not in state:
        raise RecipeError(f"--checkpoint: {checkpoint!r} is not an ember training checkpoint "
                         "(written by `ember train`)")
    cfg = state["config"]
    if threads is not None:
        ember.set_num_threads(threads)
    _, test, data_name = load_data(dataset or cfg["dataset"], data_root or
                                   cfg.get("data_root"))
    model, _ = build_model(cfg["model"], cfg["model_kwargs"]["num_classes"],
                           cfg["image_shape"][0], cfg["image_shape"][1], {
                               k: v for k, v in cfg["model_kwargs"].items()
                               if k not in ("num_classes", "in_channels", "image_size")})
    model.load_state_dict(state["model"])
    norm = cfg["normalize"]
    loader = DataLoader(test, batch_size=256,
                        batch_transform=T.Compose([T.ToTensor(),
                                                   T.Normalize(norm["mean"], norm["std"])]))
    scores, targets = [], []
    model.eval()
    with ember.no_grad():
        for x, y in loader:
            scores.append(model(x).numpy())
            targets.append(y.numpy())
    out, target = np.concatenate(scores), np.concatenate(targets)
    pred = out.argmax(1)
    n = out.shape[1]
    cm = confusion_matrix(pred, target, n)
    classes = cfg.get("classes") or [str(i) for i in range(n)]
    print(f"{cfg['model']} (epoch {state['epoch']}) on the {data_name} test split "
          f"({len(target)} images): accuracy {(pred == target).mean():.2%}"
          + (f", top-5 {ember.train.top_k_accuracy(out, target, 5):.2%}" if n > 5 else ""))
    print("per class: " + ", ".join(f"{c} {v:.0%}"
                                    for c, v in zip(classes, per_class_accuracy(cm))))
    print("confusion matrix (rows: true, columns: predicted):")
    width = max(len(str(int(cm.max()))), 3)
    for row in cm:
        print("  " + " ".join(f"{int(v):>{width}d}" for v in row))
    return 0
