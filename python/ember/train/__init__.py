"""``ember.train``: the fit loop, evaluation, metrics, callbacks, and the training recipe of
``ember train`` (``recipe``)."""
from ember.train.callbacks import (Callback, CSVLogger, EarlyStopping, JSONLogger,
                                   LRSchedulerCallback, ModelCheckpoint)
from ember.train.loop import (CHECKPOINT_FORMAT, History, NonFiniteLossError, Trainer,
                              evaluate, fit)
from ember.train.recipe import TrainSettings, evaluate_checkpoint, run_training
from ember.train.tta import tta_predict
from ember.train.metrics import (Accuracy, ConfusionMatrix, MeanIoU, Metric, TopKAccuracy,
                                 accuracy, confusion_matrix, mean_iou, per_class_accuracy,
                                 top_k_accuracy)

__all__ = ["fit", "evaluate", "Trainer", "History", "NonFiniteLossError", "CHECKPOINT_FORMAT",
           "Callback", "EarlyStopping", "ModelCheckpoint", "LRSchedulerCallback", "CSVLogger",
           "JSONLogger", "Metric", "Accuracy", "TopKAccuracy", "ConfusionMatrix", "MeanIoU",
           "accuracy", "top_k_accuracy", "confusion_matrix", "per_class_accuracy", "mean_iou",
           "TrainSettings", "run_training", "evaluate_checkpoint", "tta_predict"]
