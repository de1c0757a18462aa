"""compute_mean_std against NumPy over arrays, layouts and data sets (ember.data.stats)."""

import numpy as np

from ember.data import compute_mean_std
from transform_helpers import rand_u8


def test_compute_mean_std():
    data = rand_u8((50, 6, 5, 3))
    mean, std = compute_mean_std(data, chunk_size=7)
    f = data.astype(np.float64) / 255
    np.testing.assert_allclose(mean, f.mean(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(std, f.std(axis=(0, 1, 2)), rtol=1e-12)
    m1, s1 = compute_mean_std(data[..., 0])
    np.testing.assert_allclose(m1, [f[..., 0].mean()], rtol=1e-12)
    m2, s2 = compute_mean_std(data.transpose(0, 3, 1, 2), channels_last=False, chunk_size=9)
    np.testing.assert_allclose(m2, mean, rtol=1e-12)
    np.testing.assert_allclose(s2, std, rtol=1e-12)

    class DS:
        pass

    ds = DS()
    ds.data = f.astype(np.float32)  # float data is used as it is
    m3, s3 = compute_mean_std(ds, chunk_size=8)
    np.testing.assert_allclose(m3, mean, rtol=1e-6)
    np.testing.assert_allclose(s3, std, rtol=1e-5)
