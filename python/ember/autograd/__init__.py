"""Automatic differentiation: ``Function``, the backward engine, grad mode, gradcheck and
anomaly detection."""
from ember.autograd.anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from ember.autograd.function import Function
from ember.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ember.autograd.gradcheck import gradcheck

__all__ = ["Function", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "gradcheck"]
