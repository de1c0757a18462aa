"""``ember.data``: datasets, samplers and the DataLoader (``torch.utils.data`` names),
file-backed and embedded datasets (``ember.data.datasets``), preprocessing and augmentation
(``ember.data.transforms``), and small synthetic sets for examples."""
from ember.data.dataloader import DataLoader, default_collate
from ember.data.dataset import (ArrayDataset, ConcatDataset, Dataset, Subset, TensorDataset,
                                random_split, stratified_split)
from ember.data.sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                                SubsetRandomSampler, WeightedRandomSampler)
from ember.data.stats import compute_mean_std
from ember.data.synthetic import linearly_separable, two_spirals
from ember.data import datasets, transforms  # noqa: E402

__all__ = ["Dataset", "TensorDataset", "ArrayDataset", "Subset", "ConcatDataset",
           "random_split", "stratified_split", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "DataLoader",
           "default_collate", "datasets", "transforms", "compute_mean_std", "two_spirals",
           "linearly_separable"]
