"""coursekit.checkpoint: atomic writes, exact round trips, weights-only loading, clear mismatches."""

import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from coursekit import checkpoint
from coursekit.checkpoint import (
    CheckpointError,
    CheckpointMismatch,
    CorruptCheckpoint,
    UnsafeCheckpoint,
    is_compatible,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
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
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values(), strict=True):
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


# --- meta is checked before any file is touched --------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    """A good checkpoint of a seeded LeNet5 at tmp/lenet.pt, and its bytes."""
    seed_everything(0)
    model = LeNet5()
    path = save_checkpoint(model, tmp_path / "lenet.pt", {"version": 1})
    return {"path": path, "bytes": path.read_bytes(), "model": model, "dir": tmp_path}


@pytest.mark.parametrize(
    "meta, where, fix",
    [
        ({"acc": np.float64(0.99)}, r"meta\['acc'\] is a numpy.float64", r"float\(x\)"),
        ({"n": np.int64(3)}, r"meta\['n'\] is a numpy.int64", r"int\(x\)"),
        ({"where": Path("/tmp/x")}, r"meta\['where'\] is a pathlib.PosixPath", r"str\(path\)"),
        ({"curve": np.zeros(3)}, r"meta\['curve'\] is a numpy.ndarray", r"tolist\(\)"),
        ({"h": {"acc": [0.5, np.float32(0.6)]}}, r"meta\['h'\]\['acc'\]\[1\] is a numpy.float32", r"float\(x\)"),
        ({"tags": {"a", "b"}}, r"meta\['tags'\] is a set", r"sorted\(values\)"),
        ({"f": print}, r"meta\['f'\] is a builtin_function_or_method", "store numbers"),
        ({(1, 2): "x"}, r"meta has a key \(1, 2\) of type tuple", r"str\(key\)"),
    ],
)
def test_unloadable_meta_is_refused_before_the_old_file_is_touched(saved, meta, where, fix):
    with pytest.raises(TypeError, match=where) as err:
        save_checkpoint(LeNet5(), saved["path"], meta)
    assert re.search(fix, str(err.value)) and "Nothing was written" in str(err.value)
    assert saved["path"].read_bytes() == saved["bytes"]
    assert sorted(p.name for p in saved["dir"].iterdir()) == ["lenet.pt"]


def test_plain_meta_of_every_allowed_kind_round_trips(tmp_path):
    meta = {
        "none": None,
        "flag": True,
        "n": 3,
        "x": 0.5,
        "s": "text",
        "list": [1, 2.5, "a"],
        "tuple": (1, 2),
        "nested": {"a": {"b": [None]}},
        7: "int key",
        "t": torch.arange(3),
    }
    path = save_checkpoint(LeNet5(), tmp_path / "m.pt", meta)
    loaded = load_checkpoint(path, LeNet5())
    assert torch.equal(loaded.pop("t"), meta.pop("t")) and loaded == meta


# --- integrity: checksums and damaged files ----------------------------------------------------------


def flip_a_tensor_byte(path: Path, tensor: torch.Tensor) -> None:
    blob = bytearray(path.read_bytes())
    at = blob.find(tensor.detach().contiguous().numpy().tobytes())
    assert at > 0
    blob[at + 5] ^= 0x10
    path.write_bytes(bytes(blob))


def test_a_flipped_byte_in_a_tensor_is_caught_and_names_the_file(saved):
    flip_a_tensor_byte(saved["path"], saved["model"].classifier[1].weight)
    target = LeNet5()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(
        CorruptCheckpoint,
        match=r"lenet\.pt: the content of 1 tensor\(s\) differs from the "
        r"sha256 saved with it \(classifier\.1\.weight\).*delete it",
    ) as err:
        load_checkpoint(saved["path"], target)
    assert str(saved["path"]) in str(err.value)
    assert all(torch.equal(v, before[k]) for k, v in target.state_dict().items())
    assert not is_compatible(saved["path"], LeNet5())


@pytest.mark.parametrize(
    "damage",
    [
        "truncated",
        "empty",
        "random bytes",
        "pickle payload",
        "a folder",
        "missing",
        "flipped byte",
        "plain state_dict",
        "a list",
    ],
)
def test_is_compatible_answers_false_and_never_raises(saved, damage):
    path = saved["path"]
    if damage == "truncated":
        path.write_bytes(saved["bytes"][: len(saved["bytes"]) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif damage == "pickle payload":

        class Evil:
            def __reduce__(self):
                return (os.system, ("echo pwned",))

        with open(path, "wb") as f:
            pickle.dump({"format": checkpoint.FORMAT, "x": Evil()}, f, protocol=2)
    elif damage == "a folder":
        path.unlink()
        path.mkdir()
    elif damage == "missing":
        path.unlink()
    elif damage == "flipped byte":
        flip_a_tensor_byte(path, saved["model"].c1.weight)
    elif damage == "plain state_dict":
        torch.save(LeNet5().state_dict(), path)
    else:
        torch.save([1, 2, 3], path)
    assert is_compatible(path, LeNet5()) is False
    with pytest.raises((OSError, CheckpointError), match=re.escape(str(path))):
        load_checkpoint(path, LeNet5())


def test_damaged_files_raise_errors_that_say_what_to_do(saved):
    saved["path"].write_bytes(saved["bytes"][:3000])
    with pytest.raises(
        CorruptCheckpoint, match=r"lenet\.pt: torch cannot read it .*delete it and train the model again"
    ):
        read_checkpoint(saved["path"])
    with open(saved["path"], "wb") as f:
        pickle.dump({"format": checkpoint.FORMAT, "x": Path("/")}, f, protocol=2)
    with pytest.raises(UnsafeCheckpoint, match=r"lenet\.pt holds objects other than tensors .* refused"):
        read_checkpoint(saved["path"])


def test_stored_shapes_that_disagree_with_the_tensors_leave_the_model_alone(saved):
    payload = torch.load(saved["path"], weights_only=True)
    payload["state_dict"]["classifier.5.weight"] = torch.zeros(4, 84)  # the record still says (10, 84)
    torch.save(payload, saved["path"])
    target = LeNet5()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CorruptCheckpoint, match=r"tensor classifier\.5\.weight has shape \(4, 84\) but is recorded"):
        load_checkpoint(saved["path"], target)
    assert all(torch.equal(v, before[k]) for k, v in target.state_dict().items())


def test_a_consistent_checkpoint_of_other_shapes_leaves_the_model_alone(tmp_path):
    path = save_checkpoint(LeNet5(num_classes=4), tmp_path / "four.pt")
    payload = torch.load(path, weights_only=True)
    payload["architecture"]["config"]["num_classes"] = 10  # lie about the configuration: shapes must still be checked
    torch.save(payload, path)
    target = LeNet5()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(
        CheckpointMismatch, match=r"classifier\.5\.weight has shape \(4, 84\), the model expects \(10, 84\)"
    ):
        load_checkpoint(path, target)
    assert all(torch.equal(v, before[k]) for k, v in target.state_dict().items())


def test_a_checkpoint_without_checksums_still_loads(saved):
    payload = torch.load(saved["path"], weights_only=True)
    del payload["architecture"]["sha256"]
    torch.save(payload, saved["path"])
    fresh = LeNet5()
    assert load_checkpoint(saved["path"], fresh) == {"version": 1}
    assert torch.equal(fresh.c1.weight, saved["model"].c1.weight)


def test_channels_last_weights_round_trip_with_their_checksums(tmp_path):
    model = LeNet5().to(memory_format=torch.channels_last)
    path = save_checkpoint(model, tmp_path / "nhwc.pt")
    fresh = LeNet5().to(memory_format=torch.channels_last)
    load_checkpoint(path, fresh)
    assert torch.equal(fresh.c1.weight, model.c1.weight)


def test_a_save_removes_what_a_killed_save_left_behind(saved):
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    stale = saved["dir"] / f".lenet.pt.{child.pid}x00ff.partial"
    stale.write_bytes(saved["bytes"][:100])
    save_checkpoint(LeNet5(), saved["path"], {"version": 2})
    assert sorted(p.name for p in saved["dir"].iterdir()) == ["lenet.pt"]


def test_saving_onto_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder; give the checkpoint a file name"):
        save_checkpoint(LeNet5(), tmp_path)
