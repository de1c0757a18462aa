"""The training loop: :func:`fit`, :func:`evaluate`, :class:`Trainer` and :class:`History`.

One epoch: ``model.train()``, for each batch forward, loss (checked to be finite), backward,
optimizer step, running metrics; then validation (``model.eval()``, ``no_grad``) and the
callbacks. Progress goes to a tqdm bar per epoch (loss, running accuracy, images/s, ETA)
with ``verbose=1``, to one line per epoch with ``verbose=2`` (for logs), nowhere with
``verbose=0``.

Checkpoints hold the model, optimizer and scheduler states, the epoch, the history and the
random generators' states, so ``fit(..., resume=path)`` continues exactly where the saved
run stopped: the resumed run ends with the same weights as an uninterrupted one.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np

from ember import _device, _random
from ember.autograd.grad_mode import no_grad
from ember.nn.module import Module
from ember.tensor import Tensor
from ember.train.callbacks import Callback, LRSchedulerCallback
from ember.train.metrics import Metric, make_metric

__all__ = ["fit", "evaluate", "Trainer", "History", "NonFiniteLossError",
           "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "ember-checkpoint-1"


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; training stopped at the step named in the message."""


class History:
    """Per-epoch values: ``history['loss']``, ``history['val_accuracy']``, ... (lists, one
    entry per epoch; missing values are nan) and ``epoch`` (epoch numbers, from 1)."""

    def __init__(self) -> None:
        self.history: Dict[str, List[float]] = {}
        self.epoch: List[int] = []

    def append(self, epoch: int, logs: Dict[str, float]) -> None:
        n = len(self.epoch)
        for k in logs:
            self.history.setdefault(k, [math.nan] * n)
        for k, values in self.history.items():
            values.append(float(logs.get(k, math.nan)))
        self.epoch.append(int(epoch))

    def rows(self) -> List[Dict[str, float]]:
        return [{"epoch": e, **{k: v[i] for k, v in self.history.items()}}
                for i, e in enumerate(self.epoch)]

    def state_dict(self) -> Dict[str, Any]:
        return {"history": {k: list(v) for k, v in self.history.items()},
                "epoch": list(self.epoch)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.history = {k: [float(x) for x in v] for k, v in state["history"].items()}
        self.epoch = [int(e) for e in state["epoch"]]

    def __getitem__(self, key: str) -> List[float]:
        return self.history[key]

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


def _batch_size(x: Any) -> int:
    return int(x.shape[0]) if hasattr(x, "shape") and len(x.shape) else 1


def _to_tensor(x: Any, device: Any = None) -> Any:
    """A batch as a tensor, on ``device`` when one is given (the model's)."""
    t = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    return t if device is None else t.to(device)


def evaluate(model: Module, loader: Iterable, loss_fn: Optional[Callable] = None,
             metrics: Sequence[Any] = ("accuracy",),
             num_classes: Optional[int] = None, device: Any = None) -> Dict[str, Any]:
    """Loss (mean over samples, if ``loss_fn``) and metrics of ``model`` on ``loader``, in
    eval mode under ``no_grad``; the model's previous mode is restored. Batches go to
    ``device`` (where the model is) when it is given."""
    ms: List[Metric] = [make_metric(m, num_classes) for m in metrics]
    for m in ms:
        m.reset()
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with no_grad():
            for x, y in loader:
                x, y = _to_tensor(x, device), _to_tensor(y, device)
                out = model(x)
                n = _batch_size(y)
                if loss_fn is not None:
                    total += float(loss_fn(out, y).item()) * n
                for m in ms:
                    m.update(out, y)
                count += n
    finally:
        model.train(was_training)
    result: Dict[str, Any] = {m.name: m.compute() for m in ms}
    if loss_fn is not None:
        result["loss"] = total / count if count else math.nan
    result["samples"] = count
    return result


class Trainer:
    """Runs training epochs with progress, metrics, validation, callbacks and checkpoints.

    Args:
        model, loss_fn, optimizer: as for any training loop (``loss_fn(outputs, targets)``).
        scheduler: an lr scheduler stepped once per epoch (``scheduler_interval='step'``:
            after every optimizer step; a ReduceLROnPlateau is stepped with the validation
            loss, or the training loss without validation data).
        metrics: names ('accuracy', 'top5_accuracy', 'mean_iou') or Metric instances.
        callbacks: :class:`ember.train.callbacks.Callback` objects.
        verbose: 1 progress bars, 2 one line per epoch, 0 silent.
        config: JSON-able description of the run (model name and arguments, data ...),
            stored in checkpoints so that ``ember eval`` can rebuild the model.
    """

    def __init__(self, model: Module, loss_fn: Callable, optimizer: Any,
                 scheduler: Any = None, metrics: Sequence[Any] = ("accuracy",),
                 callbacks: Sequence[Callback] = (), verbose: int = 1,
                 scheduler_interval: str = "epoch", num_classes: Optional[int] = None,
                 config: Optional[Dict[str, Any]] = None, log: Callable[[str], None] = None,
                 device: Any = None) -> None:
        # device: where the model is moved and every batch goes (None: leave both as they are)
        self.device = None if device is None else _device.as_device(device, "Trainer")
        if self.device is not None:
            model.to(self.device)
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.scheduler = scheduler
        self.metric_specs, self.num_classes = list(metrics), num_classes
        self.callbacks: List[Callback] = list(callbacks)
        if scheduler is not None:
            self.callbacks.insert(0, LRSchedulerCallback(scheduler, scheduler_interval))
        self.verbose, self.config = verbose, dict(config or {})
        self._log = log or (lambda s: print(s, file=sys.stderr, flush=True))
        self.history = History()
        self.epoch = 0          # completed epochs
        self.global_step = 0    # optimizer steps taken
        self.stop_training = False
        self.train_loader: Any = None

    def log(self, message: str) -> None:
        if self.verbose:
            self._log(message)

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self) -> Dict[str, Any]:
        """Everything needed to resume: model/optimizer/scheduler states, epoch, global
        step, history, the RNG states (ember's default generator and the loader's own
        generator, if any) and the run's config."""
        gen = getattr(self.train_loader, "generator", None)
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "history": self.history.state_dict(),
            "rng": _random.default_generator.get_state(),
            "loader_rng": None if gen is None else gen.get_state(),
            "config": self.config,
        }

    def save_checkpoint(self, path: str) -> None:
        from ember.utils.serialization import save

        save(self.checkpoint(), path)

    def load_checkpoint(self, state: Any) -> None:
        """Restore a checkpoint (a path or the dict :meth:`checkpoint` returned)."""
        from ember.utils.serialization import load

        if isinstance(state, str):
            path, state = state, load(state)
            if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
                raise ValueError(f"resume: {path!r} is not an ember training checkpoint")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.global_step = int(state.get("global_step", 0))
        self.history.load_state_dict(state["history"])
        _random.default_generator.set_state(state["rng"])
        gen = getattr(self.train_loader, "generator", None)
        if gen is not None and state.get("loader_rng") is not None:
            gen.set_state(state["loader_rng"])

    # ------------------------------------------------------------------ training
    def _progress(self, loader: Any, epoch: int, epochs: int) -> Any:
        if self.verbose != 1 or not sys.stderr.isatty():
            return None  # a log file gets the one line per epoch instead
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            return None
        total = len(loader) if hasattr(loader, "__len__") else None
        return tqdm(total=total, desc=f"epoch {epoch}/{epochs}", unit="batch",
                    dynamic_ncols=True, leave=True, file=sys.stderr)

    def train_epoch(self, loader: Iterable, epoch: int, epochs: int) -> Dict[str, float]:
        """One pass over ``loader``; returns the epoch's training logs."""
        ms = [make_metric(m, self.num_classes) for m in self.metric_specs]
        for m in ms:
            m.reset()
        self.model.train()
        bar = self._progress(loader, epoch, epochs)
        total_loss, count, start = 0.0, 0, time.perf_counter()
        try:
            for step, (x, y) in enumerate(loader):
                x, y = _to_tensor(x, self.device), _to_tensor(y, self.device)
                out = self.model(x)
                loss = self.loss_fn(out, y)
                value = float(loss.item())
                if not math.isfinite(value):
                    raise NonFiniteLossError(
                        f"non-finite loss ({value}) at epoch {epoch}, batch {step + 1} (global "
                        f"step {self.global_step + 1}); training stopped. Lower the learning "
                        "rate, or run under ember.autograd.detect_anomaly() to find the "
                        "operation that produced it")
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                self.global_step += 1
                n = _batch_size(y)
                total_loss += value * n
                count += n
                for m in ms:
                    m.update(out.detach(), y)
                logs = {"loss": total_loss / count}
                for cb in self.callbacks:
                    cb.on_batch_end(self, self.global_step, logs)
                if bar is not None:
                    post = {"loss": f"{total_loss / count:.4f}"}
                    for m in ms:
                        if m.name == "accuracy":
                            post["acc"] = f"{m.compute():.4f}"
                    post["img/s"] = f"{count / max(time.perf_counter() - start, 1e-9):,.0f}"
                    bar.set_postfix(post, refresh=False)
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - start
        logs = {"loss": total_loss / count if count else math.nan}
        for m in ms:
            v = m.compute()
            if np.ndim(v) == 0:
                logs[m.name] = float(v)
        logs["seconds"] = seconds
        logs["images_per_s"] = count / seconds if seconds > 0 else math.nan
        return logs

    def fit(self, train_loader: Iterable, epochs: int, val_loader: Optional[Iterable] = None,
            resume: Optional[Any] = None) -> History:
        """Train until ``epochs`` epochs are completed in all (a resumed run continues the
        count) or a callback stops it. Returns the :class:`History`."""
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
        self.train_loader = train_loader
        if resume is not None:
            self.load_checkpoint(resume)
            self.log(f"resumed from epoch {self.epoch}")
        self.stop_training = False
        for cb in self.callbacks:
            cb.on_train_begin(self)
        while self.epoch < epochs and not self.stop_training:
            epoch = self.epoch + 1
            for cb in self.callbacks:
                cb.on_epoch_begin(self, epoch)
            sampler = getattr(train_loader, "sampler", None)
            if hasattr(sampler, "set_epoch"):  # DistributedSampler: a new shared shuffle
                sampler.set_epoch(epoch - 1)
            logs = _across_ranks(self.train_epoch(train_loader, epoch, epochs))
            if val_loader is not None:
                res = evaluate(self.model, val_loader, self.loss_fn, self.metric_specs,
                               self.num_classes, self.device)
                logs.update({f"val_{k}": v for k, v in res.items()
                             if k != "samples" and np.ndim(v) == 0})
            logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
            self.epoch = epoch
            self.history.append(epoch, logs)  # before the callbacks: checkpoints include it
            for cb in self.callbacks:
                cb.on_epoch_end(self, epoch, logs)
            if self.verbose:
                self.log(f"epoch {epoch}/{epochs}: " + "  ".join(
                    f"{k} {v:.4g}" if k != "images_per_s" else f"{k} {v:,.0f}"
                    for k, v in logs.items() if k != "seconds") + f"  ({logs['seconds']:.1f} s)")
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history


def _across_ranks(logs: Dict[str, Any]) -> Dict[str, Any]:
    """In an MPI job (ember.distributed), the epoch's training metrics averaged over the
    ranks and the images/s summed, so that rank 0's log speaks for the job."""
    import sys as _sys

    dist = _sys.modules.get("ember.distributed")
    if dist is None or dist.get_world_size() == 1:
        return logs
    out = {}
    for k, v in logs.items():
        if np.ndim(v) != 0:
            out[k] = v
        elif k == "images_per_s":
            out[k] = dist.all_average(float(v)) * dist.get_world_size()
        else:
            out[k] = dist.all_average(float(v))
    return out


def fit(model: Module, train_loader: Iterable, loss_fn: Callable, optimizer: Any,
        epochs: int, val_loader: Optional[Iterable] = None, scheduler: Any = None,
        callbacks: Sequence[Callback] = (), metrics: Sequence[Any] = ("accuracy",),
        verbose: int = 1, resume: Optional[Any] = None, scheduler_interval: str = "epoch",
        config: Optional[Dict[str, Any]] = None, device: Any = None) -> History:
    """Train ``model`` for ``epochs`` epochs; see :class:`Trainer`. Returns the History."""
    trainer = Trainer(model, loss_fn, optimizer, scheduler, metrics, callbacks, verbose,
                      scheduler_interval, config=config, device=device)
    return trainer.fit(train_loader, epochs, val_loader, resume)
