"""The model zoo (``ember.models``): each model is a function returning an ``nn.Module``,
with ``num_classes`` and the input channels configurable; parameter names follow
torchvision's where torchvision has the model. ``get_model(name, **kw)`` builds by name."""
from ember.models._registry import get_model, list_models, register
from ember.models.resnet import (BasicBlock, Bottleneck, CifarResNet, ResNet,
                                 SqueezeExcitation, resnet18, resnet20, resnet32, resnet34,
                                 resnet44, resnet50, resnet56, resnet101, resnet110, resnet152)
from ember.models.simple import lenet5, mlp, smallcnn

__all__ = ["get_model", "list_models", "register", "mlp", "lenet5", "smallcnn", "ResNet",
           "CifarResNet", "BasicBlock", "Bottleneck", "SqueezeExcitation", "resnet18",
           "resnet34", "resnet50", "resnet101", "resnet152", "resnet20", "resnet32", "resnet44",
           "resnet56", "resnet110"]
