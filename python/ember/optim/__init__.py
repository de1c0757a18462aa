"""Optimizers (``ember.optim``) and learning-rate schedules (``ember.optim.lr_scheduler``).

Every optimizer updates a whole parameter group in one fused C++ call per step."""
from ember.optim.optimizer import Optimizer
from ember.optim.sgd import SGD
from ember.optim.adam import Adam, AdamW
from ember.optim.rmsprop import RMSprop
from ember.optim.adagrad import Adadelta, Adagrad
from ember.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
           "lr_scheduler"]
