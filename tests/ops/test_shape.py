"""Shape ops: reshape/view, flatten, transpose/permute/T, squeeze/unsqueeze, expand, indexing,
cat/stack, split/chunk/unbind, pad (constant/reflect/replicate/circular)."""
import numpy as np
import pytest

import ember
from ember.ops import shape as S
from helpers import assert_close, check_grad, helper_test_op, ids, import_torch, uniform


def _tt(x):
    return ember.tensor(x)


# ------------------------------------------------------------------------ reshape family
RESHAPES = [((2, 3, 4), (6, 4)), ((2, 3, 4), (-1,)), ((2, 3, 4), (4, -1, 2)), ((6,), (1, 6, 1)),
            ((1,), ()), ((2, 3), (2, 3))]


@pytest.mark.parametrize("shape,new", RESHAPES, ids=ids(RESHAPES))
def test_reshape_view(shape, new):
    x = uniform(shape, 1)
    assert_close(S.reshape(_tt(x), new), x.reshape(new), 0, 0)
    assert_close(_tt(x).reshape(*new), x.reshape(new), 0, 0)
    assert_close(_tt(x).view(new), x.reshape(new), 0, 0)
    check_grad(lambda t: S.reshape(t, new) * 2.0, x)
    helper_test_op([x], lambda t: t.reshape(new), msg=f"reshape {shape}->{new}")
    helper_test_op([x], lambda t: t.view(*new) if new else t.view(()), msg="view")


FLATTENS = [((2, 3, 4), 0, -1), ((2, 3, 4), 1, -1), ((2, 3, 4, 5), 1, 2), ((3,), 0, 0), ((), 0, -1)]


@pytest.mark.parametrize("shape,start,end", FLATTENS, ids=ids(FLATTENS))
def test_flatten(shape, start, end):
    x = uniform(shape, 2)
    out = S.flatten(_tt(x), start, end)
    if shape:
        s, e = start % len(shape), end % len(shape)
        ref_shape = shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:]
    else:
        ref_shape = (1,)
    assert out.shape == ref_shape
    assert_close(out, x.reshape(ref_shape), 0, 0)
    check_grad(lambda t: S.flatten(t, start, end), x)
    helper_test_op([x], lambda t: t.flatten(start, end), msg=f"flatten {shape} {start} {end}")


PERMUTES = [((2, 3), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4, 5), (0, 2, 3, 1)),
            ((2, 3, 4), (-1, 0, 1))]


@pytest.mark.parametrize("shape,dims", PERMUTES, ids=ids(PERMUTES))
def test_permute(shape, dims):
    x = uniform(shape, 3)
    assert_close(S.permute(_tt(x), *dims), np.transpose(x, [d % len(shape) for d in dims]), 0, 0)
    check_grad(lambda t: S.permute(t, dims) * 1.5, x)
    helper_test_op([x], lambda t: t.permute(*dims), msg=f"permute {shape} {dims}")


TRANSPOSES = [((2, 3), 0, 1), ((2, 3, 4), 0, 2), ((2, 3, 4), -1, -2), ((3,), 0, -1),
              ((2, 3), 1, 1)]


@pytest.mark.parametrize("shape,d0,d1", TRANSPOSES, ids=ids(TRANSPOSES))
def test_transpose(shape, d0, d1):
    x = uniform(shape, 4)
    assert_close(S.transpose(_tt(x), d0, d1), np.swapaxes(x, d0, d1), 0, 0)
    check_grad(lambda t: S.transpose(t, d0, d1) * 2.0, x)
    helper_test_op([x], lambda t: t.transpose(d0, d1), msg=f"transpose {shape} {d0} {d1}")


def test_T_and_t():
    x = uniform((2, 3, 4), 5)
    assert_close(_tt(x).T, x.T, 0, 0)
    helper_test_op([(2, 3, 4)], lambda t: t.permute(2, 1, 0), lambda t: t.T)
    helper_test_op([(2, 3)], lambda t: t.t())
    helper_test_op([(3,)], lambda t: t.t())
    assert _tt(x[0, 0]).T.shape == (4,)
    with pytest.raises(ValueError, match="t: expects a tensor with <= 2 dimensions, got 3-D"):
        _tt(x).t()


SQUEEZES = [((1, 3, 1, 2), None), ((1, 3, 1, 2), 0), ((1, 3, 1, 2), -2), ((1, 3, 1, 2), 1),
            ((1, 3, 1, 2), (0, 2)), ((1, 1), None), ((), None)]


@pytest.mark.parametrize("shape,dim", SQUEEZES, ids=ids(SQUEEZES))
def test_squeeze(shape, dim):
    x = uniform(shape, 6)
    if dim is None:
        ref = np.squeeze(x)
    else:
        dims = (dim,) if isinstance(dim, int) else dim
        ref = np.squeeze(x, tuple(d for d in dims if shape[d] == 1))
    assert_close(S.squeeze(_tt(x), dim), ref, 0, 0, msg=f"squeeze {shape} {dim}")
    check_grad(lambda t: S.squeeze(t, dim) * 2.0, x)
    helper_test_op([x], lambda t: t.squeeze(dim) if dim is not None else t.squeeze(),
                   msg=f"squeeze {shape} {dim}")


@pytest.mark.parametrize("shape,dim", [((2, 3), 0), ((2, 3), 2), ((2, 3), -1), ((2, 3), -3),
                                       ((), 0)])
def test_unsqueeze(shape, dim):
    x = uniform(shape, 7)
    assert_close(S.unsqueeze(_tt(x), dim), np.expand_dims(x, dim), 0, 0)
    check_grad(lambda t: S.unsqueeze(t, dim) * 2.0, x)
    helper_test_op([x], lambda t: t.unsqueeze(dim), msg=f"unsqueeze {shape} {dim}")


EXPANDS = [((3, 1), (3, 4)), ((1,), (2, 3)), ((2, 1, 3), (4, 2, 5, 3)), ((3, 1), (-1, 4)),
           ((), (2, 2))]


@pytest.mark.parametrize("shape,sizes", EXPANDS, ids=ids(EXPANDS))
def test_expand(shape, sizes):
    x = uniform(shape, 8)
    full = tuple(x.shape[i - (len(sizes) - x.ndim)] if s == -1 else s
                 for i, s in enumerate(sizes))
    out = S.expand(_tt(x), *sizes)
    assert_close(out, np.broadcast_to(x, full), 0, 0)
    check_grad(lambda t: S.expand(t, *sizes) * 1.0, x)
    helper_test_op([x], lambda t: t.expand(*sizes), msg=f"expand {shape} {sizes}")
    helper_test_op([x, full], lambda t, o: t.expand_as(o) * o, msg="expand_as")


# ------------------------------------------------------------------------ indexing
R = np.random.default_rng(0)
MASK = R.random((4, 5, 6)) > 0.5
ROWMASK = np.array([True, False, True, True])
INDICES = {
    "int": (1,),
    "neg_int": (-1,),
    "slice": (slice(1, 3),),
    "step": (slice(None, None, 2),),
    "neg_step": (slice(None, None, -1),),
    "int_slice": (1, slice(2, 4)),
    "ellipsis": (Ellipsis, 1),
    "none": (None, 1),
    "none_mid": (slice(None), None, slice(None, None, 2)),
    "ellipsis_none": (Ellipsis, None),
    "array_repeats": (np.array([0, 0, 2, 3, 0]),),
    "array_2d": (np.array([[3, 0], [3, 3]]),),
    "slice_array": (slice(None), np.array([1, 1, 4])),
    "pairwise": (np.array([0, 1, 1]), np.array([2, 3, 2])),
    "int_array_slice": (0, np.array([4, 4]), slice(1, 5, 2)),
    "mask": (MASK,),
    "row_mask": (ROWMASK,),
    "mask_slice": (ROWMASK, slice(0, 2)),
}


def _index_for(idx, lib):
    torch = import_torch() if lib == "torch" else None
    out = []
    for i in idx:
        if isinstance(i, np.ndarray):
            out.append(torch.tensor(i) if lib == "torch" else i)
        else:
            out.append(i)
    return tuple(out)


@pytest.mark.parametrize("name", list(INDICES))
def test_getitem(name):
    idx = INDICES[name]
    x = uniform((4, 5, 6), 9)
    out = _tt(x)[idx]
    assert_close(out, x[idx], 0, 0, msg=name)
    if x[idx].size <= 40:  # gradcheck does one backward per output element
        check_grad(lambda t: t[idx] * 2.0, uniform((4, 5, 6), 10))
    if name != "neg_step":  # torch has no negative-step slicing
        helper_test_op([x], lambda t: t[_index_for(idx, "torch")],
                       lambda t: t[_index_for(idx, "ember")], msg=f"index {name}")


def test_getitem_negative_step_gradient():
    x = ember.tensor(uniform((4, 3), 11), requires_grad=True)
    up = uniform((4, 3), 12)
    (x[::-1] * ember.tensor(up)).sum().backward()
    assert_close(x.grad, up[::-1])


def test_getitem_repeated_indices_accumulate():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert_close(x.grad, [3.0, 0.0, 1.0])


def test_getitem_with_tensor_and_list_indices():
    x = uniform((4, 5), 13)
    t = _tt(x)
    assert_close(t[ember.tensor([3, 1])], x[[3, 1]], 0, 0)
    assert_close(t[ember.tensor(x[:, 0] > 0)], x[x[:, 0] > 0], 0, 0)
    assert_close(t[[ember.tensor(2), 0]], x[[2, 0]], 0, 0)
    assert_close(t[1, ember.tensor(3)], x[1, 3], 0, 0)
    assert [r.tolist() for r in t] == x.tolist()


def test_getitem_errors():
    t = ember.zeros(3, 4)
    with pytest.raises(IndexError, match=r"index .* is invalid for a tensor of shape \(3, 4\)"):
        t[3]
    with pytest.raises(IndexError, match=r"shape \(3, 4\)"):
        t[0, 0, 0]
    with pytest.raises(IndexError, match=r"shape \(3, 4\)"):
        t[np.array([True, False])]
    with pytest.raises(IndexError):
        t[1.5]


# ------------------------------------------------------------------------ cat / stack
CATS = [([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 2)], 1), ([(2, 3, 4), (2, 3, 1)], -1),
        ([(3,)], 0)]


@pytest.mark.parametrize("shapes,dim", CATS, ids=ids(CATS))
def test_cat(shapes, dim):
    xs = [uniform(s, 20 + i) for i, s in enumerate(shapes)]
    out = S.cat([_tt(x) for x in xs], dim)
    assert_close(out, np.concatenate(xs, dim), 0, 0)
    check_grad(lambda *ts: S.cat(list(ts), dim), *xs)
    torch = import_torch()
    helper_test_op(xs, lambda *ts: torch.cat(ts, dim), lambda *ts: S.cat(ts, dim))


@pytest.mark.parametrize("n,shape,dim", [(3, (2, 3), 0), (2, (2, 3), 2), (2, (2, 3), -1),
                                         (1, (4,), 1), (2, (), 0)])
def test_stack(n, shape, dim):
    xs = [uniform(shape, 30 + i) for i in range(n)]
    out = S.stack([_tt(x) for x in xs], dim)
    assert_close(out, np.stack(xs, dim), 0, 0)
    check_grad(lambda *ts: S.stack(ts, dim), *xs)
    torch = import_torch()
    helper_test_op(xs, lambda *ts: torch.stack(ts, dim), lambda *ts: S.stack(ts, dim))


def test_cat_mixed_requires_grad():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    b = ember.tensor([3.0])
    out = S.cat([a, b])
    (out * ember.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert_close(a.grad, [1.0, 2.0])
    assert b.grad is None


def test_cat_stack_errors():
    a, b = ember.zeros(2, 3), ember.zeros(2, 4)
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2, 4\) but tensor 0 has "
                                         r"shape \(2, 3\)"):
        S.cat([a, b], 0)
    with pytest.raises(IndexError, match="cat: dimension out of range"):
        S.cat([a, a], 2)
    with pytest.raises(ValueError, match="cat: expected a non-empty sequence"):
        S.cat([])
    with pytest.raises(TypeError, match="cat: expected a sequence of tensors, got Tensor"):
        S.cat(a)
    with pytest.raises(ValueError, match=r"stack: tensor 1 has shape \(2, 4\) but tensor 0 "
                                         r"has shape \(2, 3\)"):
        S.stack([a, b])
    with pytest.raises(IndexError, match="stack: dimension out of range"):
        S.stack([a, a], 3)


# ------------------------------------------------------------------------ split family
SPLITS = [((7, 2), 3, 0), ((7, 2), [2, 0, 5], 0), ((2, 6), 2, 1), ((2, 6), [1, 5], -1),
          ((4,), 10, 0)]


@pytest.mark.parametrize("shape,sizes,dim", SPLITS, ids=ids(SPLITS))
def test_split(shape, sizes, dim):
    x = uniform(shape, 40)
    parts = S.split(_tt(x), sizes, dim)
    n = shape[dim]
    if isinstance(sizes, int):
        bounds = list(range(sizes, n, sizes))
    else:
        bounds = list(np.cumsum(sizes)[:-1])
    ref = np.split(x, bounds, axis=dim)
    assert len(parts) == len(ref)
    for p, r in zip(parts, ref):
        assert_close(p, r, 0, 0, msg=f"split {shape} {sizes} {dim}")
    check_grad(lambda t: S.split(t, sizes, dim), x)
    helper_test_op([x], lambda t: t.split(sizes, dim), msg=f"split {shape} {sizes} {dim}")


@pytest.mark.parametrize("shape,chunks,dim", [((7, 2), 3, 0), ((6, 2), 3, 0), ((2, 5), 2, 1),
                                              ((2, 3), 5, 1)])
def test_chunk(shape, chunks, dim):
    x = uniform(shape, 41)
    parts = S.chunk(_tt(x), chunks, dim)
    size = -(-shape[dim] // chunks)
    ref = np.split(x, list(range(size, shape[dim], size)), axis=dim)
    assert [p.shape for p in parts] == [r.shape for r in ref]
    check_grad(lambda t: S.chunk(t, chunks, dim), x)
    helper_test_op([x], lambda t: t.chunk(chunks, dim), msg=f"chunk {shape} {chunks} {dim}")


@pytest.mark.parametrize("shape,dim", [((3, 2), 0), ((3, 2), 1), ((2, 3, 2), -2)])
def test_unbind(shape, dim):
    x = uniform(shape, 42)
    parts = S.unbind(_tt(x), dim)
    assert len(parts) == shape[dim]
    for i, p in enumerate(parts):
        assert_close(p, np.take(x, i, axis=dim), 0, 0)
    check_grad(lambda t: S.unbind(t, dim), x)
    helper_test_op([x], lambda t: t.unbind(dim), msg=f"unbind {shape} {dim}")


def test_split_errors():
    x = ember.zeros(5, 2)
    with pytest.raises(ValueError, match=r"split: sections \[2, 2\] do not add up to the size 5 "
                                         "of dimension 0"):
        S.split(x, [2, 2])
    with pytest.raises(ValueError, match="split: split_size must be positive, got 0"):
        S.split(x, 0)
    with pytest.raises(ValueError, match="chunk: chunks must be positive, got 0"):
        S.chunk(x, 0)
    with pytest.raises(IndexError, match="unbind: dimension out of range"):
        S.unbind(x, 2)


# ------------------------------------------------------------------------ pad
def _pad_source(i, n, before, mode):
    """Input position copied to padded position i along an axis (None: the constant)."""
    j = i - before
    if 0 <= j < n:
        return j
    if mode == "constant":
        return None
    if mode == "replicate":
        return 0 if j < 0 else n - 1
    if mode == "circular":
        return j % n
    while j < 0 or j >= n:  # reflect about the edges, edge not repeated
        j = -j if j < 0 else 2 * (n - 1) - j
    return j


def _pad_ref(x, pad, mode, value):
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    out_shape = tuple(n + b + e for n, (b, e) in zip(x.shape, widths))
    out = np.empty(out_shape)
    for pos in np.ndindex(*out_shape):
        src = [_pad_source(i, n, b, mode) for i, n, (b, _) in zip(pos, x.shape, widths)]
        out[pos] = value if any(s is None for s in src) else x[tuple(src)]
    return out


PADS = [
    ((2, 3, 5), (2, 1), "constant", 0.0),
    ((2, 3, 5), (1, 2, 0, 3), "constant", -1.5),
    ((1, 2, 3, 4), (1, 1, 2, 0), "constant", 0.0),
    ((2, 3, 5), (2, 4), "reflect", 0.0),
    ((1, 2, 3, 4), (3, 1, 2, 2), "reflect", 0.0),
    ((2, 3, 5), (3, 2), "replicate", 0.0),
    ((1, 2, 3, 4), (2, 1, 0, 3), "replicate", 0.0),
    ((2, 3, 5), (4, 5), "circular", 0.0),
    ((1, 2, 3, 4), (1, 2, 3, 1), "circular", 0.0),
]


@pytest.mark.parametrize("shape,pad,mode,value", PADS, ids=ids(PADS))
def test_pad(shape, pad, mode, value):
    x = uniform(shape, 50)
    out = S.pad(_tt(x), pad, mode, value)
    assert_close(out, _pad_ref(x, pad, mode, value), 0, 0, msg=f"pad {shape} {pad} {mode}")
    check_grad(lambda t: S.pad(t, pad, mode, value), uniform(shape[-3:], 51))
    torch = import_torch()
    F = torch.nn.functional
    helper_test_op([x], lambda t: F.pad(t, pad, mode=mode, value=value) if mode == "constant"
                   else F.pad(t, pad, mode=mode), lambda t: S.pad(t, pad, mode, value),
                   msg=f"pad {pad} {mode}")


def test_pad_errors():
    x = ember.zeros(2, 3)
    with pytest.raises(ValueError, match=r"pad: pad \(1, 1, 1\) must have an even length"):
        S.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: pad .* must have an even length of at most 2 x "
                                         r"ndim \(4\)"):
        S.pad(x, (1,) * 6)
    with pytest.raises(ValueError, match="pad: mode must be 'constant', 'reflect', 'replicate'"):
        S.pad(x, (1, 1), mode="wrap")
    with pytest.raises(ValueError, match=r"pad: reflect padding \(3, 0\) must be smaller than "
                                         "the size 3 of dimension 1"):
        S.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match=r"pad: circular padding \(0, 4\) must be at most"):
        S.pad(x, (0, 4), mode="circular")
    with pytest.raises(ValueError, match="pad: negative padding"):
        S.pad(x, (-1, 0))


# ------------------------------------------------------------------------ errors
def test_reshape_errors():
    x = ember.zeros(2, 3)
    with pytest.raises(ValueError, match=r"reshape: shape \(4, 2\) is invalid for input of shape"
                                         r" \(2, 3\) \(6 elements\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match=r"reshape: shape \(-1, -1\) is invalid"):
        x.reshape(-1, -1)
    with pytest.raises(ValueError, match=r"reshape: shape \(4, -1\) is invalid"):
        x.view(4, -1)
    with pytest.raises(TypeError, match="reshape: shape must be a sequence of ints"):
        x.reshape("a", 3)


def test_permute_transpose_squeeze_errors():
    x = ember.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"permute: got 2 dims \(1, 0\) for a tensor with 3 "):
        x.permute(1, 0)
    with pytest.raises(ValueError, match=r"permute: dims \(0, 0, 1\) are not a permutation"):
        x.permute(0, 0, 1)
    with pytest.raises(IndexError, match="permute: dimension out of range"):
        x.permute(0, 1, 3)
    with pytest.raises(IndexError, match=r"transpose: dimension out of range \(expected to be "
                                         r"in range of \[-3, 2\], but got 3\)"):
        x.transpose(0, 3)
    with pytest.raises(IndexError, match="squeeze: dimension out of range"):
        x.squeeze(3)
    with pytest.raises(IndexError, match="unsqueeze: dimension out of range"):
        x.unsqueeze(4)
    with pytest.raises(IndexError, match="flatten: dimension out of range"):
        x.flatten(0, 3)
    with pytest.raises(ValueError, match="flatten: start_dim 2 comes after end_dim 1"):
        x.flatten(2, 1)


def test_expand_errors():
    x = ember.zeros(3, 2)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(3, 2\) to \(3, 4\)"):
        x.expand(3, 4)
    with pytest.raises(ValueError, match="expand: the number of sizes 1 must be >= the "
                                         "tensor's 2 dimensions"):
        x.expand(2)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(3, 2\) to \(-1, 3, 2\)"):
        x.expand(-1, 3, 2)
