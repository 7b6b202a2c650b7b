"""coursekit.files: atomic writes, hashing, and the clean-up of what a killed run left behind."""

import hashlib
import json
import os
import re
import subprocess
import sys

import pytest

from coursekit import files
from coursekit.files import atomic_path, remove_stale_partials, sha256_file, write_json


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sha256_file_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "blob"
    payload = os.urandom(3 << 20)  # more than one read block
    path.write_bytes(payload)
    assert sha256_file(path) == hashlib.sha256(payload).hexdigest()
    assert sha256_file(str(path)) == sha256_file(path)


def test_sha256_file_names_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nothing"))):
        sha256_file(tmp_path / "nothing")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        sha256_file(tmp_path)


def test_atomic_path_writes_a_hidden_partial_next_to_the_target_then_renames_it(tmp_path):
    target = tmp_path / "sub" / "result.bin"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and target.parent.is_dir()
        assert re.fullmatch(rf"\.result\.bin\.{os.getpid()}x[0-9a-f]+\.partial", tmp.name)
        assert not tmp.exists()
        tmp.write_bytes(b"new")
        assert not target.exists()  # nothing under the real name until the body is done
    assert target.read_bytes() == b"new"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.bin"]


def test_atomic_path_flushes_to_disk_before_the_rename(tmp_path, monkeypatch):
    order = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: order.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: order.append("replace") or real_replace(a, b))
    with atomic_path(tmp_path / "x") as tmp:
        tmp.write_bytes(b"1")
    assert order == ["fsync", "replace"]


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt(), ValueError("bad value")])
def test_a_failing_body_leaves_the_target_and_no_temporary(tmp_path, error):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(type(error)):
        with atomic_path(target) as tmp:
            tmp.write_text("half of the new")
            raise error
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_body_that_writes_nothing_changes_nothing(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with atomic_path(target):
        pass
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_atomic_path_can_write_a_folder(tmp_path):
    target = tmp_path / "folder"
    with atomic_path(target) as tmp:
        (tmp / "inner").mkdir(parents=True)
        (tmp / "inner" / "a.txt").write_text("a")
    assert (target / "inner" / "a.txt").read_text() == "a"
    with pytest.raises(OSError):
        with atomic_path(target) as tmp:  # a non-empty folder is not replaced
            tmp.mkdir()
            (tmp / "b.txt").write_text("b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_atomic_path_needs_a_file_name():
    with pytest.raises(ValueError, match="needs a file name"):
        with atomic_path(".."):
            pass


def test_write_json_is_atomic_and_checks_before_touching(tmp_path):
    target = tmp_path / "r.json"
    assert write_json(target, {"a": [1, 2.5, None, "x"]}) == target
    assert json.loads(target.read_text()) == {"a": [1, 2.5, None, "x"]}
    assert target.read_text().endswith("\n") and "\n  " in target.read_text()  # indented
    with pytest.raises(TypeError, match=r"r\.json.*not JSON serializable.*float\(x\)"):
        write_json(target, {"a": {1, 2}})
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        write_json(target, loop)
    assert json.loads(target.read_text()) == {"a": [1, 2.5, None, "x"]}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_write_json_is_also_importable_from_coursekit_data(tmp_path):
    from coursekit.data import write_json as from_data

    assert from_data is write_json


def test_remove_stale_partials_removes_what_dead_writers_left(tmp_path):
    dead = dead_pid()
    stale_file = tmp_path / f".model.pt.{dead}x0a1b.partial"
    stale_dir = tmp_path / f".hymenoptera_data.{dead}x99.partial"
    old_style = tmp_path / ".report.json.k3j4h5.partial"  # a name without a writer's pid
    live = tmp_path / f".other.pt.{os.getpid()}x77.partial"  # this process is writing it
    stale_file.write_bytes(b"half")
    (stale_dir / "sub").mkdir(parents=True)
    (stale_dir / "sub" / "x").write_bytes(b"half")
    old_style.write_text("{")
    live.write_bytes(b"in progress")
    keep = [tmp_path / "model.pt", tmp_path / "notes.partial", tmp_path / ".hidden"]
    for path in keep:
        path.write_text("keep")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / f".deep.{dead}x1.partial").write_text("not searched")
    assert remove_stale_partials(tmp_path) == sorted([stale_file, stale_dir, old_style])
    assert all(p.exists() for p in keep) and live.exists()
    assert (tmp_path / "nested" / f".deep.{dead}x1.partial").exists()
    assert remove_stale_partials(tmp_path) == []


def test_remove_stale_partials_of_a_missing_folder_is_nothing(tmp_path):
    assert remove_stale_partials(tmp_path / "nowhere") == []


def test_a_partial_name_holds_the_writer_and_is_unique(tmp_path):
    names = {files.partial_name(tmp_path / "a.txt").name for _ in range(50)}
    assert len(names) == 50 and all(n.startswith(f".a.txt.{os.getpid()}x") for n in names)
