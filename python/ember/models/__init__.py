"""The model zoo (``ember.models``): each model is a function returning an ``nn.Module``,
with ``num_classes`` and the input channels configurable; parameter names follow
torchvision's where torchvision has the model (``load_pretrained`` loads its exported
weights). ``get_model(name, **kw)`` builds by name, ``list_models()`` lists them."""
from ember.models._registry import get_model, list_models, register
from ember.models.alexnet import AlexNet, alexnet
from ember.models.convert import convert_state_dict, load_pretrained
from ember.models.googlenet import GoogLeNet, Inception, googlenet
from ember.models.nin import NIN, nin
from ember.models.resnet import (BasicBlock, Bottleneck, CifarResNet, ResNet,
                                 SqueezeExcitation, resnet18, resnet20, resnet32, resnet34,
                                 resnet44, resnet50, resnet56, resnet101, resnet110, resnet152)
from ember.models.senet import (se_resnet18, se_resnet20, se_resnet34, se_resnet50,
                                se_resnet56, se_resnet101, se_resnet152)
from ember.models.simple import lenet5, mlp, smallcnn
from ember.models.unet import UNet, unet
from ember.models.vgg import (VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19,
                              vgg19_bn)

__all__ = ["get_model", "list_models", "register", "convert_state_dict", "load_pretrained",
           "mlp", "lenet5", "smallcnn", "alexnet", "AlexNet", "vgg11", "vgg11_bn", "vgg13",
           "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "VGG", "nin", "NIN",
           "googlenet", "GoogLeNet", "Inception", "ResNet", "CifarResNet", "BasicBlock",
           "Bottleneck", "SqueezeExcitation", "resnet18", "resnet34", "resnet50", "resnet101",
           "resnet152", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
           "se_resnet18", "se_resnet34", "se_resnet50", "se_resnet101", "se_resnet152",
           "se_resnet20", "se_resnet56", "unet", "UNet"]
