"""Compose and Lambda, batch vs per-sample agreement, per-sample randomness and
reproducibility of every random transform (ember.data.transforms.base)."""

import numpy as np
import pytest

import ember
from ember.data.transforms import (CenterCrop, ColorJitter, Compose, GaussianNoise,
                                   Lambda, MinMaxScale, Normalize, Pad, RandomAffine,
                                   RandomCrop, RandomHorizontalFlip, RandomResizedCrop,
                                   RandomRotation, RandomVerticalFlip, Resize,
                                   SaltAndPepperNoise, ToTensor)
from transform_helpers import rand_batch, rand_u8, seeded


def test_lambda():
    x = rand_batch()
    t = Lambda(lambda a: a * 2)
    np.testing.assert_array_equal(t(x[0]), x[0] * 2)
    np.testing.assert_array_equal(t.batch(x), x * 2)
    np.testing.assert_array_equal(Lambda(lambda a: a.sum(0, keepdims=True)).batch(x),
                                  x.sum(1, keepdims=True))
    np.testing.assert_array_equal(Lambda(lambda a: a[:, :1], batched=True).batch(x), x[:, :1])
    with pytest.raises(TypeError, match="Lambda: lambd must be callable"):
        Lambda(3)


def test_compose_call_batch_and_repr():
    u8 = rand_u8((6, 8, 8, 3))
    tf = Compose([ToTensor(), RandomCrop(6, padding=2), RandomHorizontalFlip(),
                  Normalize((0.5,) * 3, (0.25,) * 3)])
    with seeded(1):
        out = tf.batch(u8)
    with seeded(1):  # the same transforms applied one by one, out of place
        ref = u8
        for t in tf.transforms:
            ref = t.batch(ref)
    np.testing.assert_array_equal(out, ref)
    assert out.shape == (6, 3, 6, 6) and out.dtype == np.float32
    single = tf(u8[0])
    assert single.shape == (3, 6, 6)
    assert repr(tf).startswith("Compose(\n    ToTensor()\n    RandomCrop(size=(6, 6)")
    assert repr(tf).endswith("Normalize(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])\n)")
    # the input batch is never modified, even when flips work in place on intermediates
    x = rand_batch(8, 1, 4, 4)
    x0 = x.copy()
    Compose([RandomHorizontalFlip(1.0), RandomVerticalFlip(1.0)]).batch(x)
    Compose([Lambda(lambda a: a, batched=True), RandomHorizontalFlip(1.0)]).batch(x)
    np.testing.assert_array_equal(x, x0)
    # plain callables without ``batch`` are applied per sample
    np.testing.assert_array_equal(Compose([lambda a: a + 1]).batch(x), x + 1)


def test_batch_agrees_with_call_for_fixed_parameters():
    x = rand_batch(3, 3, 9, 9)
    for t in (Normalize((0.2, 0.3, 0.4), (0.5, 0.6, 0.7)), MinMaxScale(), Resize((5, 7)),
              CenterCrop(5), Pad(2, padding_mode="reflect"), RandomHorizontalFlip(1.0),
              RandomVerticalFlip(0.0), RandomRotation((33, 33)),
              RandomAffine((10, 10), scale=(1.2, 1.2), shear=(5, 5)),
              ColorJitter(contrast=(0.5, 0.5)), GaussianNoise(std=0.0),
              RandomResizedCrop(4, scale=(1, 1), ratio=(1, 1))):
        b = t.batch(x)
        for k in range(3):
            np.testing.assert_allclose(t(x[k]), b[k], atol=1e-6, err_msg=repr(t))


def test_tensor_input_gives_numpy_output():
    x = rand_batch()
    out = RandomHorizontalFlip(1.0).batch(ember.from_numpy(x))
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, x[..., ::-1])
    assert isinstance(CenterCrop(4)(ember.from_numpy(x[0])), np.ndarray)


RANDOM = [RandomHorizontalFlip(), RandomCrop(6, padding=2), RandomRotation(30),
          RandomAffine(20, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=10),
          RandomResizedCrop(6), GaussianNoise(), SaltAndPepperNoise(0.2),
          ColorJitter(0.4, 0.4, 0.4)]


@pytest.mark.parametrize("t", RANDOM, ids=lambda t: type(t).__name__)
def test_reproducible_from_seed(t):
    x = rand_batch(8, 3, 8, 8)
    with seeded(11):
        a = t.batch(x)
    with seeded(11):
        b = t.batch(x)
    with seeded(12):
        c = t.batch(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    ember.manual_seed(5)
    d = t.batch(x)
    ember.manual_seed(5)
    np.testing.assert_array_equal(t.batch(x), d)
    state = np.random.get_state()
    t.batch(x)
    assert np.random.get_state()[1].tobytes() == state[1].tobytes()  # global RNG untouched


@pytest.mark.parametrize("t", RANDOM, ids=lambda t: type(t).__name__)
def test_each_sample_gets_its_own_parameters(t):
    x = np.repeat(rand_batch(1, 3, 8, 8), 12, axis=0)
    out = t.batch(x)
    assert out.shape[:2] == x.shape[:2] and out.dtype == x.dtype
    distinct = len({o.tobytes() for o in out})
    assert distinct == 2 if isinstance(t, RandomHorizontalFlip) else distinct > 3
