"""``ember.utils``: model summaries, saving and loading (safetensors, no pickle), plots."""
from ember.utils.fusion import fuse_conv_bn, fuse_conv_bn_eval
from ember.utils.inference import InferenceModule, optimize_for_inference
from ember.utils.serialization import atomic_write, load, save
from ember.utils.summary import ModelSummary, summary

__all__ = ["summary", "ModelSummary", "save", "load", "atomic_write", "fuse_conv_bn",
           "fuse_conv_bn_eval", "optimize_for_inference", "InferenceModule"]
