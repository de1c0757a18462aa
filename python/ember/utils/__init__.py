"""``ember.utils``: model summaries, saving and loading (safetensors, no pickle), plots."""
from ember.utils.serialization import atomic_write, load, save
from ember.utils.summary import ModelSummary, summary

__all__ = ["summary", "ModelSummary", "save", "load", "atomic_write"]
