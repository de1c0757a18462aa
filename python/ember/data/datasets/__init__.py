"""Datasets read from local files only (nothing is downloaded at run time), and the small
real datasets shipped inside ember (``Digits``, ``EmbeddedFashionMNIST``)."""
from ember.data.datasets.files import DatasetError, read_cifar_records, read_idx
from ember.data.datasets.vision import (CIFAR10, EMBEDDED_ROOT, FASHION_MNIST_ROOT, MNIST,
                                        Digits, EmbeddedFashionMNIST, FashionMNIST,
                                        ImageFolder)

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "ImageFolder", "Digits",
           "EmbeddedFashionMNIST", "DatasetError", "read_idx", "read_cifar_records",
           "FASHION_MNIST_ROOT", "EMBEDDED_ROOT"]
