"""Callbacks for :class:`ember.train.Trainer`: early stopping, best-model checkpoints, LR
schedule stepping, CSV / JSON metric logs.

A callback overrides any of ``on_train_begin(trainer)``, ``on_epoch_begin(trainer, epoch)``,
``on_batch_end(trainer, step, logs)``, ``on_epoch_end(trainer, epoch, logs)`` and
``on_train_end(trainer)``; setting ``trainer.stop_training = True`` ends training after the
current epoch. ``logs`` holds the epoch's values (``loss``, ``accuracy``, ``val_loss``,
``val_accuracy``, ``lr``, ``seconds``, ``images_per_s``).
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Dict, List, Optional

import numpy as np

from ember._files import atomic_write

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "LRSchedulerCallback", "CSVLogger",
           "JSONLogger"]


class Callback:
    """Base class; every hook does nothing."""

    def on_train_begin(self, trainer: Any) -> None:
        pass

    def on_epoch_begin(self, trainer: Any, epoch: int) -> None:
        pass

    def on_batch_end(self, trainer: Any, step: int, logs: Dict[str, float]) -> None:
        pass

    def on_epoch_end(self, trainer: Any, epoch: int, logs: Dict[str, float]) -> None:
        pass

    def on_train_end(self, trainer: Any) -> None:
        pass


def _mode(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if ("acc" in monitor or "iou" in monitor) else "min"


class _Monitor:
    """Tracks the best value of ``monitor`` in ``logs`` with a minimum improvement."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        self.monitor, self.mode, self.min_delta = monitor, _mode(monitor, mode), abs(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf

    def value(self, logs: Dict[str, float], who: str) -> float:
        if self.monitor not in logs:
            raise KeyError(f"{who}: monitored metric {self.monitor!r} is not in the logs "
                           f"(available: {', '.join(sorted(logs))}); pass val_loader= to fit "
                           "for val_* metrics")
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; ``restore_best_weights`` puts the best epoch's weights back at the end."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str = "auto",
                 min_delta: float = 0.0, restore_best_weights: bool = False) -> None:
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.tracker = _Monitor(monitor, mode, min_delta)
        self.patience, self.restore = patience, restore_best_weights
        self.wait, self.stopped_epoch, self.best_weights = 0, None, None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: Dict[str, float]) -> None:
        value = self.tracker.value(logs, "EarlyStopping")
        if self.tracker.improved(value):
            self.tracker.best, self.wait = value, 0
            if self.restore:
                self.best_weights = {k: v.numpy().copy()
                                     for k, v in trainer.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True
            trainer.log(f"early stopping at epoch {epoch}: {self.tracker.monitor} did not "
                        f"improve on {self.tracker.best:.4g} for {self.wait} epochs")

    def on_train_end(self, trainer: Any) -> None:
        if self.restore and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)


class ModelCheckpoint(Callback):
    """Save a full checkpoint (model, optimizer, scheduler, epoch, history, RNG state; see
    :meth:`Trainer.checkpoint`) to ``path`` after every epoch, or only when ``monitor``
    improved (``save_best_only``). Writes are atomic."""

    def __init__(self, path: str, monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = True) -> None:
        self.path = path
        self.tracker = _Monitor(monitor, mode, 0.0)
        self.save_best_only = save_best_only
        self.best_epoch: Optional[int] = None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: Dict[str, float]) -> None:
        if self.save_best_only:
            value = self.tracker.value(logs, "ModelCheckpoint")
            if not self.tracker.improved(value):
                return
            self.tracker.best = value
        self.best_epoch = epoch
        trainer.save_checkpoint(self.path)


class LRSchedulerCallback(Callback):
    """Step ``scheduler`` every epoch (``interval='epoch'``) or every optimizer step
    (``'step'``). A ReduceLROnPlateau is stepped each epoch with ``logs[monitor]``."""

    def __init__(self, scheduler: Any, interval: str = "epoch",
                 monitor: str = "val_loss") -> None:
        if interval not in ("epoch", "step"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'step', got "
                             f"{interval!r}")
        from ember.optim.lr_scheduler import ReduceLROnPlateau

        self.scheduler, self.interval, self.monitor = scheduler, interval, monitor
        self.plateau = isinstance(scheduler, ReduceLROnPlateau)
        if self.plateau and interval == "step":
            raise ValueError("LRSchedulerCallback: ReduceLROnPlateau steps once per epoch on a "
                             "metric; use interval='epoch'")

    def on_batch_end(self, trainer: Any, step: int, logs: Dict[str, float]) -> None:
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, trainer: Any, epoch: int, logs: Dict[str, float]) -> None:
        if self.plateau:
            metric = self.monitor if self.monitor in logs else "loss"
            self.scheduler.step(logs[metric])
        elif self.interval == "epoch":
            self.scheduler.step()


def _plain(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v


class JSONLogger(Callback):
    """Rewrite ``path`` (atomically) after every epoch with the whole history as JSON:
    ``{"epochs": [{"epoch": 1, "loss": ..., ...}, ...]}``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.rows: List[Dict[str, Any]] = []

    def on_train_begin(self, trainer: Any) -> None:
        self.rows = [dict(r) for r in trainer.history.rows()]  # a resumed run keeps its past

    def on_epoch_end(self, trainer: Any, epoch: int, logs: Dict[str, float]) -> None:
        self.rows.append({"epoch": epoch, **{k: _plain(v) for k, v in logs.items()}})
        text = json.dumps({"epochs": self.rows}, indent=2)
        atomic_write(self.path, lambda f: f.write(text), mode="w")


class CSVLogger(JSONLogger):
    """Rewrite ``path`` (atomically) after every epoch as a CSV table, one row per epoch."""

    def on_epoch_end(self, trainer: Any, epoch: int, logs: Dict[str, float]) -> None:
        self.rows.append({"epoch": epoch, **{k: _plain(v) for k, v in logs.items()}})
        keys: List[str] = []
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=keys)
        w.writeheader()
        w.writerows(self.rows)
        atomic_write(self.path, lambda f: f.write(buf.getvalue()), mode="w")
