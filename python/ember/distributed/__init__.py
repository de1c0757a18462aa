"""``ember.distributed``: synchronous data-parallel training over MPI (mpi4py).

    mpiexec -n 4 python train.py

    import ember.distributed as dist
    world = dist.init()                          # MPI world: rank, size, local rank
    dist.broadcast_parameters(model)             # every rank starts from rank 0's weights
    opt = dist.DistributedOptimizer(ember.optim.SGD(model.parameters(), lr=0.1 * world.size))
    sampler = dist.DistributedSampler(train_set, shuffle=True, seed=0)
    loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                 # a new shared shuffle each epoch
        for x, y in loader:
            loss = loss_fn(model(x), y)
            opt.zero_grad(); loss.backward()
            opt.step()                           # allreduce-averages the gradients, then steps
        acc = dist.all_average(local_accuracy)   # metrics averaged across ranks
        if dist.is_main_process(): ...           # logs, checkpoints, progress bars: rank 0 only

Design (Horovod's): the wrapper is on the optimizer, not the module. ``step()`` packs every
gradient into a few large float32 buffers (``bucket_mb``, default 25 MB), allreduces each
buffer in place (MPI_SUM) and divides by the world size, so all ranks apply the same
averaged gradient and their parameters stay identical. With equal per-rank batches this is
exactly the gradient of the global batch (B = ranks x per-rank batch) for models whose loss is
a mean over samples. Batch norm keeps per-rank statistics (over the per-rank batch), as
PyTorch's DDP without SyncBatchNorm; use ``SyncBatchNorm`` to normalise with the global
batch's statistics.

Failures: ``init()`` installs an exception hook that, in a job of more than one rank,
prints the traceback and calls ``MPI_Abort``, so one rank's error ends every rank with a
non-zero exit instead of leaving the others blocked in a collective.

MPI comes from mpi4py (``pip install ember[distributed]``; ``pip install mpi4py mpich``
brings an MPI to a machine without one; a system MPI works too). Nothing here is imported
by ``import ember``; without mpi4py, ``init()`` raises ImportError naming the fix, and
single-process code that calls the helpers without ``init()`` runs as a world of size 1.
"""
from ember.distributed.collectives import (all_average, allreduce_gradients,
                                           broadcast_optimizer_state, broadcast_parameters)
from ember.distributed.optimizer import DistributedOptimizer
from ember.distributed.process_group import (World, barrier, get_comm, get_rank,
                                             get_world_size, in_place, init, is_initialized,
                                             is_main_process)
from ember.distributed.sampler import DistributedSampler
from ember.distributed.sync_batchnorm import SyncBatchNorm

__all__ = ["World", "init", "is_initialized", "get_rank", "get_world_size", "is_main_process",
           "barrier", "get_comm", "in_place", "broadcast_parameters",
           "broadcast_optimizer_state", "allreduce_gradients", "all_average",
           "DistributedOptimizer", "DistributedSampler", "SyncBatchNorm"]
