"""coursekit.checkpoint: atomic writes, exact round trips, weights-only loading, clear mismatches."""
import pickle

import pytest
import torch
from torch import nn

from coursekit import checkpoint
from coursekit.checkpoint import CheckpointMismatch, is_compatible, load_checkpoint, read_checkpoint, save_checkpoint
from coursekit.device import seed_everything
from coursekit.models import LeNet5


def test_round_trip_restores_every_tensor_and_the_meta(tmp_path):
    seed_everything(0)
    model = LeNet5(activation="tanh", pool="avg")
    path = save_checkpoint(model, tmp_path / "sub" / "lenet.pt", {"test_acc": 0.9912, "epochs": [1, 2]})
    assert path.is_file()
    seed_everything(1)
    fresh = LeNet5(activation="tanh", pool="avg")
    assert not torch.equal(fresh.c1.weight, model.c1.weight)
    meta = load_checkpoint(path, fresh)
    assert meta == {"test_acc": 0.9912, "epochs": [1, 2]}
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(model(x), fresh(x), rtol=0, atol=0)


def test_the_file_is_readable_by_plain_torch_load_weights_only(tmp_path):
    model = LeNet5()
    path = save_checkpoint(model, tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    assert payload["architecture"]["config"] == model.config
    assert set(payload["state_dict"]) == set(model.state_dict())
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_weights_only_refuses_a_pickled_object(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this would run on load",))

    path = tmp_path / "evil.pt"
    torch.save({"format": checkpoint.FORMAT, "payload": Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        read_checkpoint(path)


def test_a_failing_write_leaves_the_previous_checkpoint_and_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "lenet.pt"
    seed_everything(0)
    old = LeNet5()
    save_checkpoint(old, path, {"version": 1})
    before = path.read_bytes()

    real_save = torch.save

    def save_half_then_fail(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        f.write(b"garbage")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", save_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(LeNet5(), path, {"version": 2})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.pt"]
    monkeypatch.undo()
    assert load_checkpoint(path, LeNet5()) == {"version": 1}


def test_an_interrupted_write_is_cleaned_up_too(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(LeNet5(), tmp_path / "lenet.pt")
    assert list(tmp_path.iterdir()) == []


def test_architecture_mismatch_is_a_clear_error_and_leaves_the_model_alone(tmp_path):
    path = save_checkpoint(LeNet5(activation="relu"), tmp_path / "relu.pt")
    target = LeNet5(activation="tanh")
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CheckpointMismatch, match="configuration") as err:
        load_checkpoint(path, target)
    assert "'activation': 'relu'" in str(err.value) and "'activation': 'tanh'" in str(err.value)
    for k, v in target.state_dict().items():
        assert torch.equal(v, before[k])
    assert not is_compatible(path, target)
    assert is_compatible(path, LeNet5(activation="relu"))


def test_shape_and_key_mismatches_are_named(tmp_path):
    path = save_checkpoint(LeNet5(num_classes=10), tmp_path / "ten.pt")
    with pytest.raises(CheckpointMismatch, match=r"classifier\.5\.weight has shape \(10, 84\)"):
        load_checkpoint(path, LeNet5(num_classes=4))
    with pytest.raises(CheckpointMismatch, match="holds a LeNet5, the model is a Sequential"):
        load_checkpoint(path, nn.Sequential(nn.Linear(2, 2)))


def test_missing_file_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nothing.pt", LeNet5())
    assert not is_compatible(tmp_path / "nothing.pt", LeNet5())
    foreign = tmp_path / "plain_state_dict.pt"
    torch.save(LeNet5().state_dict(), foreign)
    with pytest.raises(CheckpointMismatch, match="not a coursekit checkpoint"):
        load_checkpoint(foreign, LeNet5())
