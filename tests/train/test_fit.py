"""ember.train: fit learns on real data, history and callbacks, LR stepping, the non-finite
loss guard, anomaly detection, exact resume, evaluate and metrics."""
import json
import math

import numpy as np
import pytest

import ember
from ember import models, nn
from ember.data import DataLoader, datasets
from ember.data import transforms as T
from ember.train import (CSVLogger, EarlyStopping, JSONLogger, ModelCheckpoint, Trainer,
                         evaluate, fit)
from ember.train import metrics as M

NORM = T.Compose([T.ToTensor(), T.Normalize((0.3,), (0.4,))])


def digits_loaders(batch=64, seed=0):
    ember.manual_seed(seed)
    train = DataLoader(datasets.Digits(), batch_size=batch, shuffle=True, batch_transform=NORM)
    test = DataLoader(datasets.Digits(train=False), batch_size=256, batch_transform=NORM)
    return train, test


def test_fit_learns_digits_and_records_history():
    train, test = digits_loaders()
    model = models.smallcnn(width=16)
    opt = ember.optim.Adam(model.parameters(), lr=3e-3)
    sched = ember.optim.lr_scheduler.StepLR(opt, 3, gamma=0.5)
    hist = fit(model, train, nn.CrossEntropyLoss(), opt, 6, val_loader=test, scheduler=sched,
               verbose=0)
    assert hist.epoch == [1, 2, 3, 4, 5, 6]
    assert hist["val_accuracy"][-1] > 0.9 and hist["loss"][-1] < hist["loss"][0]
    assert hist["lr"] == pytest.approx([3e-3, 3e-3, 3e-3, 1.5e-3, 1.5e-3, 1.5e-3])
    assert all(v > 0 for v in hist["images_per_s"])
    res = evaluate(model, test, nn.CrossEntropyLoss())
    assert res["accuracy"] == pytest.approx(hist["val_accuracy"][-1])
    assert res["samples"] == 359 and model.training


def test_step_interval_scheduler_and_plateau():
    train, test = digits_loaders(batch=256)
    model = models.mlp(64, 10, hidden=(32,))
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    sched = ember.optim.lr_scheduler.LinearLR(opt, 0.5, 1.0, total_iters=8)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, sched, verbose=0,
                      scheduler_interval="step")
    trainer.fit(train, 2)
    assert trainer.global_step == 12 and opt.param_groups[0]["lr"] == pytest.approx(0.1)
    opt2 = ember.optim.SGD(model.parameters(), lr=0.1)
    plateau = ember.optim.lr_scheduler.ReduceLROnPlateau(opt2, patience=0, factor=0.5,
                                                         threshold=10.0)  # never "improves"
    fit(model, train, nn.CrossEntropyLoss(), opt2, 3, val_loader=test, scheduler=plateau,
        verbose=0)
    assert opt2.param_groups[0]["lr"] < 0.1


def test_callbacks_early_stopping_checkpoint_and_logs(tmp_path):
    train, test = digits_loaders(batch=256)
    model = models.mlp(64, 10, hidden=(32,))
    opt = ember.optim.SGD(model.parameters(), lr=1e-9)  # nothing improves
    es = EarlyStopping(monitor="val_accuracy", patience=1)
    ck = ModelCheckpoint(str(tmp_path / "best.safetensors"), monitor="val_loss")
    hist = fit(model, train, nn.CrossEntropyLoss(), opt, 20, val_loader=test,
               callbacks=[es, ck, CSVLogger(str(tmp_path / "log.csv")),
                          JSONLogger(str(tmp_path / "log.json"))], verbose=0)
    assert len(hist.epoch) == 3 and es.stopped_epoch == 3
    saved = ember.load(tmp_path / "best.safetensors")
    assert saved["format"] == "ember-checkpoint-1" and saved["epoch"] == ck.best_epoch
    rows = json.loads((tmp_path / "log.json").read_text())["epochs"]
    assert [r["epoch"] for r in rows] == [1, 2, 3] and "val_loss" in rows[0]
    csv = (tmp_path / "log.csv").read_text().splitlines()
    assert csv[0].startswith("epoch,") and len(csv) == 4
    with pytest.raises(KeyError, match="monitored metric 'val_accuracy' is not in the logs"):
        fit(model, train, nn.CrossEntropyLoss(), opt, 1, callbacks=[EarlyStopping(
            "val_accuracy")], verbose=0)


def test_non_finite_loss_stops_with_the_step_named():
    train, _ = digits_loaders(batch=512)  # 3 batches per epoch
    model = models.mlp(64, 10, hidden=(32,))
    opt = ember.optim.SGD(model.parameters(), lr=0.01)
    calls = []

    def loss_fn(out, y):  # finite for 4 steps, then NaN
        calls.append(1)
        loss = nn.functional.cross_entropy(out, y)
        return loss * float("nan") if len(calls) == 5 else loss

    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with pytest.raises(FloatingPointError, match=r"non-finite loss \(nan\) at epoch 2, "
                                                 r"batch 2 \(global step 5\)"):
        fit(model, train, loss_fn, opt, 5, verbose=0)
    # the NaN step never reached the optimizer: weights are those after step 4, all finite
    assert all(np.isfinite(v.numpy()).all() for v in model.state_dict().values())
    assert any(not np.array_equal(v.numpy(), before[k])
               for k, v in model.state_dict().items())


def test_detect_anomaly_names_the_op():
    x = ember.tensor([1.0, 0.0], requires_grad=True)
    with ember.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="Log produced inf values in its forward output"):
            ember.log(x)
        y = ember.sqrt(x).sum()
        with pytest.raises(RuntimeError, match="SqrtBackward returned inf values"):
            y.backward()
    ember.log(x)  # off again outside the block


def _run(epochs, resume=None, path=None, stop_after=None):
    ember.manual_seed(11)
    loader = DataLoader(datasets.Digits(), batch_size=100, shuffle=True,
                        batch_transform=T.Compose([T.ToTensor(), T.RandomCrop(8, padding=1)]))
    model = models.smallcnn(width=8)  # has dropout and batch norm: RNG and buffers matter
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    cbs = []
    if stop_after is not None:
        class Stop(ember.train.Callback):
            def on_epoch_end(self, trainer, epoch, logs):
                trainer.save_checkpoint(path)
                if epoch == stop_after:
                    trainer.stop_training = True
        cbs.append(Stop())
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, sched, callbacks=cbs, verbose=0)
    trainer.fit(loader, epochs, resume=resume)
    return model, trainer


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    path = str(tmp_path / "last.safetensors")
    full, t_full = _run(4)
    _run(4, path=path, stop_after=2)
    ember.manual_seed(12345)  # a different global state before resuming must not matter
    resumed, t_res = _run(4, resume=path)
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert t_res.history.epoch == [1, 2, 3, 4]
    assert t_res.history["loss"] == t_full.history["loss"]
    with pytest.raises(ValueError, match="not an ember training checkpoint"):
        ember.save({"x": 1}, tmp_path / "other.safetensors")
        _run(4, resume=str(tmp_path / "other.safetensors"))


def test_metrics_against_numpy():
    rng = np.random.default_rng(0)
    out = rng.standard_normal((50, 6))
    y = rng.integers(0, 6, 50)
    assert M.accuracy(out, y) == pytest.approx((out.argmax(1) == y).mean())
    top3 = np.argsort(-out, axis=1)[:, :3]
    assert M.top_k_accuracy(out, y, 3) == pytest.approx((top3 == y[:, None]).any(1).mean())
    cm = M.confusion_matrix(out.argmax(1), y, 6)
    want = np.zeros((6, 6), int)
    for t, p in zip(y, out.argmax(1)):
        want[t, p] += 1
    np.testing.assert_array_equal(cm, want)
    np.testing.assert_allclose(M.per_class_accuracy(cm), np.diag(want) / want.sum(1))
    seg_t = rng.integers(0, 3, (4, 5, 5))
    seg_o = rng.standard_normal((4, 3, 5, 5))
    pred = seg_o.argmax(1)
    ious = [((pred == c) & (seg_t == c)).sum() / ((pred == c) | (seg_t == c)).sum()
            for c in range(3)]
    assert M.mean_iou(pred, seg_t, 3) == pytest.approx(np.mean(ious))
    stream = M.MeanIoU(3)
    stream.update(seg_o[:2], seg_t[:2])
    stream.update(seg_o[2:], seg_t[2:])
    assert stream.compute() == pytest.approx(np.mean(ious))
    acc = M.Accuracy()
    acc.update(out[:20], y[:20])
    acc.update(out[20:], y[20:])
    assert acc.compute() == pytest.approx(M.accuracy(out, y))
    assert math.isnan(M.Accuracy().compute())
    with pytest.raises(ValueError, match="k must be in"):
        M.top_k_accuracy(out, y, 7)
    with pytest.raises(ValueError, match="class indices must be in"):
        M.confusion_matrix([0, 7], [0, 1], 3)
