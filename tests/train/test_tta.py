"""tta_predict: the average of the model over the crop views (ember.train.tta)."""

import numpy as np
import pytest

import ember
from ember.data.transforms import (FiveCrop, RandomCrop, TenCrop)
from ember.train import tta_predict
from transform_helpers import rand_batch


def test_tta_predict_equals_manual_average():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Flatten(), ember.nn.Linear(3 * 4 * 4, 5))
    x = rand_batch(3, 3, 6, 6)
    for crops in (FiveCrop(4), TenCrop(4)):
        got = tta_predict(model, ember.from_numpy(x), crops)
        assert isinstance(got, ember.Tensor) and got.shape == (3, 5)
        assert not got.requires_grad
        manual = np.mean([model(ember.from_numpy(np.ascontiguousarray(c))).detach().numpy()
                          for c in crops.batch(x)], axis=0)
        np.testing.assert_allclose(got.numpy(), manual, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="tta_predict: crops"):
        tta_predict(model, x, RandomCrop(4))
