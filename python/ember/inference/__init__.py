"""``ember.inference``: models compiled for inference. ``optimize_for_inference`` traces a
model (tracer.py), rewrites the trace (passes.py: fused convolution + add + ReLU, Linear +
ReLU, Linear chains) and replays it as a plan of kernel calls (plan.py); ``fuse_conv_bn``
folds eval-mode batch norm into the convolutions before it (conv_bn.py)."""
from ember.inference.conv_bn import fuse_conv_bn, fuse_conv_bn_eval
from ember.inference.module import InferenceModule, optimize_for_inference

__all__ = ["optimize_for_inference", "InferenceModule", "fuse_conv_bn", "fuse_conv_bn_eval"]
