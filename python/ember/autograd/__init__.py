"""Automatic differentiation: ``Function``, the backward engine, grad mode, gradcheck."""
from ember.autograd.function import Function
from ember.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ember.autograd.gradcheck import gradcheck

__all__ = ["Function", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled",
           "gradcheck"]
