"""Soak (slow): 10,000 training steps of a small CNN on real data hold memory flat: the
resident set grows by less than 50 MB after warm-up and the number of live Tensors does not
grow (no autograd graph, saved tensor or cache kept across steps).

    python -m pytest -m slow tests/reliability/test_soak.py
"""
import gc

import pytest

import ember
from training_helpers import batches, small_cnn, train

STEPS = 10_000
CHECK_EVERY = 1_000


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _live_tensors() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, ember.Tensor))


@pytest.mark.slow
def test_ten_thousand_training_steps_keep_memory_and_live_tensors_flat():
    model = small_cnn(seed=0)
    data = batches(CHECK_EVERY, batch=16)
    train(model, data[:50])  # warm-up: scratch buffers, the pool's threads, caches
    base_rss, base_tensors = _rss_mb(), _live_tensors()
    rss, tensors, losses = [], [], []
    for _ in range(STEPS // CHECK_EVERY):
        losses += train(model, data)
        rss.append(_rss_mb())
        tensors.append(_live_tensors())
    print(f"RSS MB after each {CHECK_EVERY} steps: {[round(r, 1) for r in rss]} "
          f"(base {base_rss:.1f}); live tensors {tensors} (base {base_tensors})")
    assert max(rss) - base_rss < 50, rss
    assert max(tensors) <= base_tensors, tensors
    assert sum(losses[-500:]) / 500 < sum(losses[:500]) / 500  # it did learn
