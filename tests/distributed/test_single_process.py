"""ember.distributed without MPI: a world of one, and DistributedSampler's arithmetic."""
import numpy as np
import pytest

import ember
import ember.distributed as dist
from ember.data import DataLoader, TensorDataset


def test_helpers_are_a_world_of_one_without_init():
    assert dist.get_rank() == 0 and dist.get_world_size() == 1 and dist.is_main_process()
    assert dist.all_average(3.5) == 3.5
    p = ember.nn.Parameter(np.ones(3, np.float32))
    p.grad = ember.tensor(np.full(3, 2.0, np.float32))
    dist.allreduce_gradients([p])
    np.testing.assert_array_equal(p.grad.numpy(), 2.0)
    opt = dist.DistributedOptimizer(ember.optim.SGD([p], lr=0.5))
    opt.step()
    np.testing.assert_array_equal(p.numpy(), 0.0)
    assert opt.param_groups[0]["lr"] == 0.5  # the wrapped optimizer's attributes


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (9, 3, False),
                                                    (2, 4, False), (100, 7, False)])
def test_sampler_partitions(n, replicas, drop_last):
    shards = []
    for r in range(replicas):
        s = dist.DistributedSampler(range(n), num_replicas=replicas, rank=r, seed=1,
                                    drop_last=drop_last)
        s.set_epoch(4)
        shards.append(list(s))
        assert len(shards[-1]) == len(s)
    sizes = {len(x) for x in shards}
    assert len(sizes) == 1  # every rank the same number of batches
    flat = [i for x in shards for i in x]
    if drop_last:
        assert len(flat) == len(set(flat)) == n // replicas * replicas
    else:
        assert set(flat) == set(range(n)) and len(flat) == -(-n // replicas) * replicas


def test_sampler_is_shared_and_reshuffles():
    a = dist.DistributedSampler(range(20), num_replicas=2, rank=0, seed=7)
    b = dist.DistributedSampler(range(20), num_replicas=2, rank=1, seed=7)
    assert not set(a) & set(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    plain = dist.DistributedSampler(range(6), num_replicas=2, rank=1, shuffle=False)
    assert list(plain) == [1, 3, 5]


def test_sampler_errors_and_loader():
    with pytest.raises(ValueError, match="rank must be in"):
        dist.DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas must be >= 1"):
        dist.DistributedSampler(range(4), num_replicas=0, rank=0)
    ds = TensorDataset(ember.arange(10))
    s = dist.DistributedSampler(ds, num_replicas=2, rank=0, shuffle=False)
    got = [int(v) for (b,) in DataLoader(ds, batch_size=2, sampler=s) for v in b.numpy()]
    assert got == [0, 2, 4, 6, 8]


def test_sync_batchnorm_is_batchnorm_in_a_world_of_one():
    import copy

    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Conv2d(2, 3, 3), ember.nn.BatchNorm2d(3))
    original = copy.deepcopy(model)
    synced = dist.SyncBatchNorm.convert_sync_batchnorm(model)
    assert isinstance(synced[1], dist.SyncBatchNorm)
    x = ember.randn(4, 2, 5, 5)
    np.testing.assert_allclose(synced(x).numpy(), original(x).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(synced[1].running_mean.numpy(),
                               original[1].running_mean.numpy(), rtol=1e-6)
