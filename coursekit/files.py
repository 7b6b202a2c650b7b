"""Writing files so that a crash never leaves half of one, and hashing them.

The package's one recipe for writing a file (a prepared dataset, downloaded weights, a checkpoint,
a benchmark report): write a temporary file in the *same* folder as the target, flush it to disk,
then ``os.replace`` it onto the target -- a rename, atomic on POSIX and Windows. Until that rename
the old target (if any) is untouched; after a failure nothing but the old target remains.

A process killed with ``kill -9`` cannot clean up after itself, so its temporary file stays behind.
Temporary names always end in ``.partial`` and start with a dot, and `remove_stale_partials` removes
them: every writer in the package calls it on its folder before writing.

- `sha256_file(path) -> str`: the hex sha256 of a file's bytes.
- `atomic_path(target)`: a context manager yielding the temporary path to write.
- `write_json(path, obj) -> Path`: indented JSON, written atomically.
- `remove_stale_partials(directory) -> list[Path]`: what a killed run left behind, removed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path

PARTIAL_SUFFIX = ".partial"
_BLOCK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """The sha256 of the bytes of file `path`, as 64 hex digits (read in 1 MiB blocks).

    Raises FileNotFoundError naming `path` when there is no such file and IsADirectoryError when
    `path` is a folder.
    """
    import hashlib

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a file; sha256_file hashes one file")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file to hash")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def partial_name(target: str | os.PathLike) -> Path:
    """A fresh temporary path next to `target`: ``.{target.name}.<random>.partial``.

    The random part starts with the writer's process id (``<pid>x<hex>``), so that
    `remove_stale_partials` can tell a file a killed run left from one a live process is writing.
    """
    target = Path(target)
    return target.parent / f".{target.name}.{os.getpid()}x{secrets.token_hex(6)}{PARTIAL_SUFFIX}"


def _writer_alive(path: Path) -> bool:
    """Whether the process that named the temporary `path` is still running."""
    tag = path.name[: -len(PARTIAL_SUFFIX)].rsplit(".", 1)[-1]
    pid, sep, _ = tag.partition("x")
    if not sep or not pid.isdigit() or int(pid) <= 0:
        return False  # not one of ours (or an older name): nobody is writing it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists but belongs to another user
    except (OverflowError, ValueError):
        return False  # not a process id at all
    return True


def _fsync_path(path: Path) -> None:
    """Flush `path` (a file, or a folder and every file in it) to disk."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for file in files:
        with open(file, "rb") as f:
            os.fsync(f.fileno())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: str | os.PathLike):
    """Write `target` atomically: ``with atomic_path(t) as tmp: <write tmp>``.

    Yields a temporary `Path` in `target`'s folder (created if needed) named
    ``.{target.name}.<random>.partial``, which does not exist yet. The body writes it -- a file, or
    a folder for a target that is a folder. On success the temporary is flushed to disk and
    ``os.replace``d onto `target` (for a folder, `target` must not exist or be an empty folder).
    On any exception the temporary is removed, `target` is untouched and the exception propagates.
    If the body wrote nothing, `target` is untouched as well.
    """
    target = Path(target)
    if target.name in ("", ".", ".."):
        raise ValueError(f"atomic_path needs a file name to write, got {str(target)!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_name(target)
    try:
        yield tmp
        if tmp.exists():
            _fsync_path(tmp)
            if tmp.is_file():
                os.chmod(tmp, 0o644)  # a written file is readable by everyone, like open() makes it
            os.replace(tmp, target)
    finally:
        if tmp.exists() or tmp.is_symlink():
            _remove(tmp)


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write `obj` as indented JSON to `path`, atomically; return the path.

    A value JSON cannot encode raises TypeError (naming its type) before any file is touched, so
    the previous file at `path` stays as it was.
    """
    path = Path(path)
    try:
        text = json.dumps(obj, indent=2, allow_nan=True) + "\n"
    except TypeError as err:
        raise TypeError(
            f"write_json({str(path)!r}): {err}; convert it to a number, string, list "
            f"or dict first (e.g. float(x) for a NumPy scalar, str(p) for a Path)"
        ) from None
    except ValueError as err:  # a circular reference
        raise ValueError(f"write_json({str(path)!r}): {err}") from None
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def remove_stale_partials(directory: str | os.PathLike) -> list[Path]:
    """Remove the ``.*.partial`` files and folders a killed run left in `directory`.

    Only the folder itself is searched (not its subfolders). A temporary whose writer (the process
    id in its name) is still running is another process's write in progress and is kept. Returns
    the paths removed, sorted; a folder that does not exist has nothing to remove and gives ``[]``.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") and path.name.endswith(PARTIAL_SUFFIX) and not _writer_alive(path):
            _remove(path)
            removed.append(path)
    return removed
