"""``ember.utils``: model summaries, saving and loading (safetensors, no pickle), plots; the
inference tools of ``ember.inference`` under their earlier names."""
from ember._files import atomic_write
from ember.inference import (InferenceModule, fuse_conv_bn, fuse_conv_bn_eval,
                             optimize_for_inference)
from ember.utils.serialization import load, save
from ember.utils.summary import ModelSummary, summary

__all__ = ["summary", "ModelSummary", "save", "load", "atomic_write", "fuse_conv_bn",
           "fuse_conv_bn_eval", "optimize_for_inference", "InferenceModule"]
