"""Dataset wrappers, splits, samplers and the DataLoader: order, batching, reproducibility,
background prefetch, and errors."""
import threading

import numpy as np
import pytest

import ember
from ember.data import (ArrayDataset, BatchSampler, ConcatDataset, DataLoader, Dataset,
                        RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                        TensorDataset, WeightedRandomSampler, datasets, default_collate,
                        random_split, stratified_split)


class Squares(Dataset):
    """A plain map-style dataset without __getitems__ (the per-sample path)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2, 2), i, dtype=np.float32), i * i


def test_tensor_dataset_subset_concat():
    x = ember.arange(10).reshape(5, 2)
    y = ember.tensor([0, 1, 0, 1, 1])
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    a, b = ds[-1]
    assert a.tolist() == [8, 9] and b.item() == 1
    sub = Subset(ds, [4, 0])
    assert sub[1][0].tolist() == [0, 1]
    cat = ConcatDataset([ds, sub])
    assert len(cat) == 7 and cat[5][0].tolist() == [8, 9]
    assert len(ds + sub) == 7
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(ember.zeros(3), ember.zeros(4))
    with pytest.raises(IndexError, match="index 5 is out of range for 5 samples"):
        ds[5]


def test_random_split_is_seeded_and_disjoint():
    ds = TensorDataset(ember.arange(100))
    ember.manual_seed(3)
    a = [s.indices.tolist() for s in random_split(ds, [0.7, 0.2, 0.1])]
    ember.manual_seed(3)
    b = [s.indices.tolist() for s in random_split(ds, [70, 20, 10])]
    assert a == b and [len(s) for s in a] == [70, 20, 10]
    assert sorted(sum(a, [])) == list(range(100))
    c = random_split(ds, [50, 50], generator=ember.Generator().manual_seed(1))
    d = random_split(ds, [50, 50], generator=ember.Generator().manual_seed(1))
    assert c[0].indices.tolist() == d[0].indices.tolist()
    assert [len(s) for s in random_split(ds, [0.335, 0.335, 0.33])] == [34, 33, 33]
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(ds, [50, 40])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.4])


def test_stratified_split_keeps_class_proportions():
    y = np.repeat(np.arange(4), [100, 50, 30, 20])
    ds = ArrayDataset(np.zeros((200, 2, 2, 1), np.uint8), y)
    train, val, test = stratified_split(ds, (0.8, 0.1, 0.1), seed=5)
    assert len(train) + len(val) + len(test) == 200
    for part, frac in ((train, 0.8), (val, 0.1), (test, 0.1)):
        counts = np.bincount(y[part.indices], minlength=4)
        np.testing.assert_allclose(counts, frac * np.array([100, 50, 30, 20]), atol=1)
    all_idx = np.concatenate([p.indices for p in (train, val, test)])
    assert sorted(all_idx.tolist()) == list(range(200))
    again = stratified_split(ds, (0.8, 0.1, 0.1), seed=5)
    assert again[1].indices.tolist() == val.indices.tolist()
    inner = stratified_split(train, (0.5, 0.5), seed=1)  # labels through the Subset
    assert abs(len(inner[0]) - len(inner[1])) <= 4
    with pytest.raises(ValueError, match="sum to 1"):
        stratified_split(ds, (0.8, 0.1))


def test_samplers():
    data = list(range(10))
    assert list(SequentialSampler(data)) == data
    g = ember.Generator().manual_seed(4)
    r1 = list(RandomSampler(data, generator=g))
    assert sorted(r1) == data and r1 != data
    r2 = list(RandomSampler(data, generator=ember.Generator().manual_seed(4)))
    assert r1 == r2
    rep = list(RandomSampler(data, replacement=True, num_samples=25, generator=g))
    assert len(rep) == 25 and all(0 <= i < 10 for i in rep)
    long = list(RandomSampler(data, num_samples=25, generator=g))
    assert sorted(long[:10]) == data and sorted(long[10:20]) == data
    sub = list(SubsetRandomSampler([3, 5, 7], generator=g))
    assert sorted(sub) == [3, 5, 7]
    w = list(WeightedRandomSampler([0, 0, 1, 0], 20, generator=g))
    assert w == [2] * 20
    bs = BatchSampler(SequentialSampler(data), 4, drop_last=False)
    assert list(bs) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and len(bs) == 3
    assert len(BatchSampler(SequentialSampler(data), 4, drop_last=True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(SequentialSampler(data), 0, False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1, -1], 3)


def test_default_collate():
    batch = [(np.ones((2, 3), np.float32), 1, 0.5), (np.zeros((2, 3), np.float32), 2, 1.5)]
    x, y, z = default_collate(batch)
    assert x.shape == (2, 2, 3) and x.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [1, 2] and z.dtype == np.float64
    d = default_collate([{"a": 1}, {"a": 2}])
    assert d["a"].tolist() == [1, 2]
    with pytest.raises(TypeError, match="cannot collate"):
        default_collate([object(), object()])


@pytest.mark.parametrize("num_workers", [0, 2])
def test_loader_batches_order_and_shapes(num_workers):
    ds = Squares(10)
    dl = DataLoader(ds, batch_size=4, num_workers=num_workers)
    batches = list(dl)
    assert len(dl) == 3 and [len(b[1]) for b in batches] == [4, 4, 2]
    assert batches[2][1].tolist() == [64, 81] and batches[0][0].shape == (4, 2, 2)
    assert [len(b[1]) for b in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    single = list(DataLoader(ds, batch_size=None))
    assert single[3][1] == 9


def test_array_datasets_fetch_whole_batches():
    ds = datasets.Digits()
    calls = []
    orig = type(ds).__getitem__

    def spy(self, i):
        calls.append(i)
        return orig(self, i)

    type(ds).__getitem__ = spy
    try:
        x, y = next(iter(DataLoader(ds, batch_size=32, shuffle=True)))
    finally:
        type(ds).__getitem__ = orig
    assert calls == []  # one fancy-indexing fetch, no per-sample calls
    assert x.shape == (32, 8, 8, 1) and x.dtype == np.uint8 and y.dtype == np.int64


def test_shuffle_is_reproducible_and_changes_per_epoch():
    ds = TensorDataset(ember.arange(50))
    ember.manual_seed(9)
    dl = DataLoader(ds, batch_size=10, shuffle=True)
    e1 = np.concatenate([b[0].numpy() for b in dl])
    e2 = np.concatenate([b[0].numpy() for b in dl])
    ember.manual_seed(9)
    dl2 = DataLoader(ds, batch_size=10, shuffle=True, num_workers=2)
    f1 = np.concatenate([b[0].numpy() for b in dl2])
    assert sorted(e1.tolist()) == list(range(50)) and e1.tolist() != e2.tolist()
    assert e1.tolist() == f1.tolist()
    g = ember.Generator().manual_seed(2)
    h = ember.Generator().manual_seed(2)
    a = [b[0].tolist() for b in DataLoader(ds, batch_size=25, shuffle=True, generator=g)]
    b = [b[0].tolist() for b in DataLoader(ds, batch_size=25, shuffle=True, generator=h)]
    assert a == b


class Noisy:
    """A batch transform drawing its randomness from the loader's per-batch generator."""

    def batch(self, x):
        from ember.data import _rng

        return x.astype(np.float32) + _rng.current().standard_normal(x.shape).astype(np.float32)


def test_augmentation_randomness_independent_of_threads():
    ds = datasets.Digits()
    outs = []
    for workers in (0, 1, 3):
        ember.manual_seed(7)
        dl = DataLoader(ds, batch_size=64, shuffle=True, num_workers=workers,
                        batch_transform=Noisy())
        outs.append(np.concatenate([b[0].numpy() for b in dl]))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])
    ember.manual_seed(8)
    other = np.concatenate([b[0].numpy() for b in DataLoader(ds, batch_size=64, shuffle=True,
                                                              batch_transform=Noisy())])
    assert not np.array_equal(outs[0], other)


class Flagging(Dataset):
    """Sets ``started[i]`` when sample i is fetched, and says on which thread."""

    def __init__(self, n):
        self.n = n
        self.started = [threading.Event() for _ in range(n)]

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.started[i].set()
        return np.zeros(3, np.float32), threading.current_thread().name


def test_prefetch_loads_the_next_batch_while_the_caller_works():
    """While the caller still holds batch 0, a worker thread fetches batch 1 (no timing
    assumption: the caller waits for the fetch to happen, which cannot happen without
    prefetch)."""
    ds = Flagging(8)
    it = iter(DataLoader(ds, batch_size=2, num_workers=1))
    _, names = next(it)
    assert names[0].startswith("ember-loader")
    assert ds.started[2].wait(timeout=10), "batch 1 was not prefetched"
    rest = list(it)
    assert len(rest) == 3
    serial = Flagging(8)
    it = iter(DataLoader(serial, batch_size=2, num_workers=0))
    _, names = next(it)
    assert names[0] == threading.current_thread().name
    assert not serial.started[2].is_set()  # nothing runs ahead without workers


def test_worker_errors_propagate_and_init_fn_runs():
    class Bad(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            if i == 4:
                raise KeyError("sample 4 is broken")
            return i

    seen = []
    dl = DataLoader(Bad(), batch_size=2, num_workers=2, worker_init_fn=seen.append)
    with pytest.raises(KeyError, match="sample 4 is broken"):
        list(dl)
    assert sorted(set(seen)) <= [0, 1] and seen


def test_loader_argument_errors():
    ds = Squares(4)
    with pytest.raises(ValueError, match="num_workers option should be a non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 2, False),
                   batch_size=2)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(ds, batch_size=0)
