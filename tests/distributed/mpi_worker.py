"""Run under mpiexec by test_mpi.py: one scenario per invocation, results written by rank 0
to the output path (safetensors / JSON), never pickled."""
import json
import os
import sys

import numpy as np

import ember
import ember.distributed as dist
from ember import nn


def mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4))


def data(n=16):
    rng = np.random.default_rng(1)
    return (rng.standard_normal((20, n, 6)).astype(np.float32),
            rng.integers(0, 4, (20, n)))


def equivalence(out):
    """20 SGD steps, the global batch of 16 split evenly across the ranks."""
    world = dist.init()
    model = mlp()
    if world.rank != 0:  # different local init: broadcast_parameters must fix it
        for p in model.parameters():
            p.data[...] = 7.0
    dist.broadcast_parameters(model)
    opt = dist.DistributedOptimizer(
        ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), bucket_mb=0.0005)
    xs, ys = data()
    per = xs.shape[1] // world.size
    for x, y in zip(xs, ys):
        sl = slice(world.rank * per, (world.rank + 1) * per)
        loss = nn.functional.cross_entropy(model(ember.tensor(x[sl])), ember.tensor(y[sl]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    if dist.is_main_process():
        ember.save(model.state_dict(), out)


def sampler(out):
    world = dist.init()
    s = dist.DistributedSampler(list(range(11)), shuffle=True, seed=3)
    seen = []
    for epoch in range(2):
        s.set_epoch(epoch)
        mine = np.array(list(s), np.int64)
        both = np.empty(mine.size * world.size, np.int64)
        dist.get_comm().Allgather(mine, both)
        seen.append(both.reshape(world.size, -1).tolist())
    if dist.is_main_process():
        with open(out, "w") as f:
            json.dump(seen, f)


def rank0_writes(out):
    dist.init()
    if dist.is_main_process():
        with open(os.path.join(out, f"rank{dist.get_rank()}.txt"), "w") as f:
            f.write("x")
    avg = dist.all_average(float(dist.get_rank()))
    if dist.is_main_process():
        with open(os.path.join(out, "avg.txt"), "w") as f:
            f.write(repr(avg))


def fail(out):
    world = dist.init()
    if world.rank == 1:
        raise RuntimeError("deliberate failure on rank 1")
    dist.barrier()  # rank 0 would block here for ever without the abort


def syncbn(out):
    """SyncBatchNorm on 2 halves == BatchNorm2d on the whole batch: output, input grad,
    weight/bias grads (averaged like the optimizer does) and running statistics."""
    world = dist.init()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 3, 4, 4))
    gy = rng.standard_normal((8, 3, 4, 4))
    per = 8 // world.size
    sl = slice(world.rank * per, (world.rank + 1) * per)
    bn = dist.SyncBatchNorm(3).double()
    bn.weight.data[...] = [0.5, 1.5, 2.0]
    xt = ember.tensor(x[sl], requires_grad=True)
    y = bn(xt)
    y.backward(gy[sl])  # the global loss sum(gy * y) is the sum of the ranks' losses
    dist.allreduce_gradients(bn.parameters(), average=False)
    parts = {"y": y.numpy(), "dx": xt.grad.numpy()}
    gathered = {}
    for k, v in parts.items():
        buf = np.empty((world.size,) + v.shape)
        dist.get_comm().Allgather(np.ascontiguousarray(v), buf)
        gathered[k] = ember.tensor(buf.reshape((-1,) + v.shape[1:]))
    if dist.is_main_process():
        gathered["dw"] = bn.weight.grad
        gathered["db"] = bn.bias.grad
        gathered["rm"] = bn.running_mean
        gathered["rv"] = bn.running_var
        ember.save(gathered, out)


def optstate(out):
    world = dist.init()
    model = mlp()
    opt = ember.optim.Adam(model.parameters(), lr=0.01)
    if world.rank == 0:  # only rank 0 has trained state (as after loading a checkpoint)
        xs, ys = data()
        for x, y in zip(xs[:3], ys[:3]):
            loss = nn.functional.cross_entropy(model(ember.tensor(x)), ember.tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
    dist.broadcast_parameters(model)
    dist.broadcast_optimizer_state(opt)
    st = opt.state_dict()["state"]
    m = np.concatenate([np.ravel(_arr(v["exp_avg"])) for v in st.values()]).astype(np.float64)
    both = np.empty((world.size, m.size))
    dist.get_comm().Allgather(m, both)
    if dist.is_main_process():
        with open(out, "w") as f:
            json.dump({"equal": bool(np.array_equal(both[0], both[1])), "n": int(m.size),
                       "steps": [int(_arr(v["step"])) for v in st.values()]}, f)


def _arr(v):
    return v.numpy() if hasattr(v, "numpy") else np.asarray(v)


if __name__ == "__main__":
    {"equivalence": equivalence, "sampler": sampler, "rank0_writes": rank0_writes,
     "fail": fail, "syncbn": syncbn, "optstate": optstate}[sys.argv[1]](sys.argv[2])
