"""NumPy views of tensors: a tensor that requires grad gives a read-only view (a write
through it raised, never a silently corrupted backward); one that does not keeps giving a
writable zero-copy view, as torch's .numpy() does."""
import numpy as np
import pytest

import ember


@pytest.mark.parametrize("view", [np.asarray, lambda t: t.numpy(), np.array,
                                  lambda t: np.asarray(t, dtype=np.float32)])
def test_view_of_a_tensor_that_requires_grad_is_read_only(view):
    w = ember.randn(3, requires_grad=True, dtype=ember.float32)
    a = view(w)
    if np.shares_memory(a, w.data):
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 100.0
    a = view(w)
    assert not a.flags.writeable or not np.shares_memory(a, w.data)


def test_a_write_cannot_corrupt_the_saved_input_of_a_backward():
    x = ember.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(ValueError):
        np.asarray(x)[:] = 0.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_tensors_without_grad_stay_zero_copy_and_writable():
    t = ember.zeros(4)
    a = np.asarray(t)
    assert np.shares_memory(a, t.data) and a.flags.writeable
    a[1] = 5.0
    assert t.numpy()[1] == 5.0
    d = ember.randn(3, requires_grad=True).detach()
    assert d.numpy().flags.writeable


def test_the_tensor_itself_stays_writable_by_ember_ops():
    w = ember.randn(3, requires_grad=True)
    np.asarray(w)  # taking a view does not freeze the parameter
    with ember.no_grad():
        w -= 0.5 * ember.ones(3)  # an optimizer-style in-place update
    opt = ember.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
