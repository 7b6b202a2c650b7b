"""Fetching and verifying the datasets into ``data/``: from there, a mirror or a download.

Where a dataset comes from, in order:

1. ``data/`` in the project (already prepared: verified, then used);
2. a local mirror, the folder named by ``COURSEKIT_DATA_MIRROR``, in torchvision's root layout
   (``MNIST/raw/*.gz``, ``FashionMNIST/raw/*.gz``, ``hymenoptera_data/{train,val}/...`` or
   ``hymenoptera_data.zip``);
3. a download from the canonical source (torchvision's own mirror list for MNIST and
   Fashion-MNIST, the PyTorch tutorial's zip for the ants/bees set).

The promises, whatever the source:

- Every IDX file is verified by the sha256 of its *uncompressed* payload (a re-compressed but
  identical copy, as Debian ships Fashion-MNIST, passes) and the ants/bees folder against the
  package's manifest (missing, extra or altered files are named). Verification runs once per
  process; later calls re-check only each file's size and modification time.
- Decompression and extraction stop at the expected size (an IDX file's exact size; the
  manifest's total plus a margin for the zip): a damaged or hostile archive cannot fill the disk.
- A truncated or damaged archive raises `CorruptArchive`, naming the file, in one paragraph.
- A mirror file that is a symbolic link leading outside the mirror is refused (`UnsafeLink`); a
  zip member that would land outside the destination is refused (`UnsafeArchive`).
- Files are written to a temporary ``.*.partial`` name and renamed only once verified: nothing
  half-written ever sits in ``data/`` under a real name, and the temporaries a killed run left
  behind are removed by the next run.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
import zipfile
import zlib
from pathlib import Path

from .. import files
from ..errors import UnknownName
from ..files import partial_name, remove_stale_partials
from .catalog import DEFAULT_IDX_CAP, HYMENOPTERA_MANIFEST, HYMENOPTERA_URL, idx_spec, read_manifest
from .locations import MIRROR_ENV, data_dir, mirror_dir

_BLOCK = 1 << 20


class DatasetUnavailable(RuntimeError):
    """A dataset is not in ``data/``, not in a mirror, and could not be downloaded."""


class ChecksumMismatch(RuntimeError):
    """A dataset file's content is not the original's (its sha256, size or file list differs)."""


class CorruptArchive(ChecksumMismatch):
    """A .gz or .zip file cannot be decompressed (truncated, damaged) or is larger than expected."""


class UnsafeSource(ValueError):
    """A dataset source would write or read outside the folders it belongs to."""


class UnsafeArchive(UnsafeSource):
    """A zip archive has a member whose path leads outside the folder it is extracted into."""


class UnsafeLink(UnsafeSource):
    """A file in the mirror is a symbolic link that leads outside the mirror."""


# The problems `python -m coursekit.data prepare` reports as one line instead of a traceback.
DATA_ERRORS = (DatasetUnavailable, ChecksumMismatch, UnsafeSource)

# Verified once per process: (path, expected digest) -> the file's (size, mtime_ns, inode) then.
_VERIFIED: dict[tuple[str, str], tuple[int, int, int]] = {}
# Verified folders: (folder, manifest fingerprint) -> {relative path: (size, mtime_ns, inode)}.
_VERIFIED_TREES: dict[tuple[str, str], dict[str, tuple[int, int, int]]] = {}


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ino


def forget_verified() -> None:
    """Forget which files this process has verified, so the next use hashes them again."""
    _VERIFIED.clear()
    _VERIFIED_TREES.clear()


def _clean(directory: Path) -> None:
    """Remove what a killed run left in `directory`: ``.*.partial`` temporaries (and the
    ``.download-*`` / ``.hymenoptera-*`` folders of older versions of this module)."""
    remove_stale_partials(directory)
    if directory.is_dir():
        for legacy in list(directory.glob(".download-*")) + list(directory.glob(".hymenoptera-*")):
            if legacy.is_dir() and not legacy.is_symlink():
                shutil.rmtree(legacy, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Reading sources: mirror look-up, downloads, bounded decompression.
# ---------------------------------------------------------------------------------------------


def _download(url: str, directory: Path) -> Path:
    """Fetch `url` into `directory` and return the file's path (torchvision's downloader)."""
    from torchvision.datasets.utils import download_url

    download_url(url, str(directory))
    return directory / url.rsplit("/", 1)[-1]


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _check_link(candidate: Path, mirror: Path) -> None:
    """Refuse `candidate` (a path in `mirror`) if it resolves, through links, to outside the mirror."""
    root = mirror.resolve()
    resolved = candidate.resolve()
    if not _inside(resolved, root):
        raise UnsafeLink(
            f"{candidate}: this mirror file is a symbolic link to {resolved}, outside the mirror {root}; "
            f"refusing to read it. Replace the link by a copy of the file, or point {MIRROR_ENV} at a "
            f"folder that holds the files themselves."
        )


def _find_in_mirror(relative: str, suffixes: tuple[str, ...] = (".gz", "")) -> Path | None:
    """The file `relative` (+ one of `suffixes`) in the mirror, or None; links leading out are refused."""
    mirror = mirror_dir()
    if mirror is None:
        return None
    for suffix in suffixes:
        candidate = mirror / (relative + suffix)
        if candidate.is_symlink() or candidate.exists():
            _check_link(candidate, mirror)
            if candidate.is_file():
                return candidate
    return None


def _damaged(source: Path, err: BaseException, what: str = "decompressed") -> CorruptArchive:
    reason = str(err) or type(err).__name__
    return CorruptArchive(
        f"{source} cannot be {what}: {reason}. The file is truncated or damaged (an interrupted copy or "
        f"download); replace it with a good copy, or delete it so that it is fetched again."
    )


def _copy_payload(source: Path, target: Path, expected: str, size: int | None) -> None:
    """Decompress (if .gz) `source` into `target`, atomically, only if the payload hash matches.

    Stops with `CorruptArchive` as soon as the payload exceeds `size` bytes (or `DEFAULT_IDX_CAP`
    when no size is known) and when the archive cannot be read to its end.
    """
    cap = DEFAULT_IDX_CAP if size is None else size
    opener = gzip.open if source.suffix == ".gz" else open
    with files.atomic_path(target) as tmp:
        h, written = hashlib.sha256(), 0
        with opener(source, "rb") as src, open(tmp, "wb") as dst:
            while True:
                try:
                    block = src.read(_BLOCK)
                except (EOFError, OSError, zlib.error) as err:
                    raise _damaged(source, err) from None
                if not block:
                    break
                written += len(block)
                if written > cap:
                    raise CorruptArchive(
                        f"{source} decompresses to more than the {cap:,} bytes {target.name} has; stopped "
                        f"there and wrote nothing. The file is not the original; replace it with a good copy."
                    )
                h.update(block)
                dst.write(block)
        got = h.hexdigest()
        if got != expected:
            sizes = "" if size is None or written == size else f" ({written:,} bytes, expected {size:,})"
            raise ChecksumMismatch(
                f"{source}: the uncompressed content has sha256 {got}, expected {expected}{sizes}. "
                f"This copy is corrupted or not the original file; replace it with a good copy."
            )
    _VERIFIED[(str(target), expected)] = _stamp(target)


# ---------------------------------------------------------------------------------------------
# The IDX datasets (MNIST, Fashion-MNIST).
# ---------------------------------------------------------------------------------------------


def _verify_prepared(target: Path, expected: str, size: int | None, key: str) -> None:
    """Check a file already in ``data/`` (once per process; later by size and modification time)."""
    stamp = _stamp(target)
    if _VERIFIED.get((str(target), expected)) == stamp:
        return
    advice = (
        f"The prepared file is corrupted; delete it and run `python -m coursekit.data prepare {key}` to fetch it again."
    )
    if size is not None and stamp[0] != size:
        raise ChecksumMismatch(f"{target}: {stamp[0]:,} bytes, expected {size:,} (truncated or altered). {advice}")
    got = files.sha256_file(target)
    if got != expected:
        raise ChecksumMismatch(f"{target}: sha256 is {got}, expected {expected}. {advice}")
    _VERIFIED[(str(target), expected)] = stamp


def _fetch_idx_file(
    urls: list[str], raw: Path, target: Path, expected: str, size: int | None, errors: list[str]
) -> bool:
    """Download one IDX file, trying `urls` in order; True once `target` is in place."""
    work = partial_name(raw / "download")
    work.mkdir(parents=True)
    try:
        for url in urls:
            try:
                archive = _download(url, work)
            except Exception as err:  # any network failure: try the next mirror
                errors.append(f"{url}: {err}")
                continue
            try:
                _copy_payload(archive, target, expected, size)
            except CorruptArchive as err:  # a damaged download: say which URL gave it
                raise CorruptArchive(f"the download of {url} is damaged: {err}") from None
            return True
        return False
    finally:
        shutil.rmtree(work, ignore_errors=True)


def prepare_idx(key: str) -> Path:
    """Make sure the four IDX files of dataset `key` ('mnist' | 'fashion_mnist') are in ``data/``.

    Returns the dataset's raw folder (``data/<Name>/raw``). Each file is taken from ``data/``
    (verified), else the mirror, else a download. Raises `UnknownName` for another key,
    `ChecksumMismatch` naming a bad file, `CorruptArchive` naming a damaged archive, `UnsafeLink`
    for a mirror link leading outside the mirror, or `DatasetUnavailable` naming every file that
    is missing and saying how to supply them.
    """
    spec = idx_spec(key)
    raw = data_dir() / spec.name / "raw"
    _clean(raw)
    missing, errors, offline = [], [], False
    for (fname, expected), urls in zip(spec.sha256.items(), spec.urls(), strict=True):
        target = raw / fname
        size = spec.size_of(fname)
        if target.is_file():
            _verify_prepared(target, expected, size, key)
            continue
        if target.exists():
            raise ChecksumMismatch(
                f"{target} is not a file (a folder?); delete it and run `python -m coursekit.data prepare {key}` again."
            )
        source = _find_in_mirror(f"{spec.name}/raw/{fname}")
        if source is not None:
            _copy_payload(source, target, expected, size)
            continue
        if not offline and _fetch_idx_file(urls, raw, target, expected, size, errors):
            continue
        offline = True  # every URL failed: do not wait for the network again for the other files
        missing.append(target)
    if missing:
        raise DatasetUnavailable(_unavailable_message(spec.name, missing, errors))
    return raw


def _unavailable_message(name: str, missing: list[Path], errors: list[str]) -> str:
    mirror = mirror_dir()
    if mirror is None:
        where = f"no mirror is set (environment variable {MIRROR_ENV})"
    elif not mirror.is_dir():
        where = f"the mirror {mirror} ({MIRROR_ENV}) does not exist"
    else:
        where = f"the mirror {mirror} does not hold them"
    lines = [
        f"{name} is not available: {len(missing)} file(s) missing: {', '.join(str(m) for m in missing)}; "
        f"{where}; and the download failed.",
        *[f"  download error: {e}" for e in errors],
        "To supply it, either connect to the internet and run again, or point "
        f"{MIRROR_ENV} at a folder in torchvision's layout that holds {name}/raw/*.gz "
        f"(or hymenoptera_data/ for the ants/bees set), or copy the files into {data_dir() / name}.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Zip extraction and manifests.
# ---------------------------------------------------------------------------------------------


def safe_extract(archive: str | os.PathLike, destination: str | os.PathLike, max_bytes: int | None = None) -> None:
    """Extract zip `archive` into `destination`, refusing any member that would land outside it.

    Every member is checked *before* anything is written: an archive with one hostile member
    ("../x", "/etc/x", "a/../../x") is refused as a whole with `UnsafeArchive`. With `max_bytes`,
    an archive whose members declare more bytes is refused before extraction, and extraction
    stops as soon as more is written (`CorruptArchive`). A damaged archive raises `CorruptArchive`
    naming it; whatever a failed extraction wrote is removed again.
    """
    archive, destination = Path(archive), Path(destination).resolve()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise FileNotFoundError(f"{archive}: no such zip archive") from None
        raise _damaged(archive, err, "read as a zip archive") from None
    written_paths: list[Path] = []
    with zf:
        members = zf.infolist()
        for member in members:
            target = (destination / member.filename).resolve()
            if not _inside(target, destination):
                raise UnsafeArchive(
                    f"{archive}: refusing to extract {member.filename!r}, which would be written "
                    f"outside {destination}; nothing was extracted. The archive is damaged or hostile."
                )
        declared = sum(m.file_size for m in members if not m.is_dir())
        if max_bytes is not None and declared > max_bytes:
            raise CorruptArchive(
                f"{archive}: its members hold {declared:,} bytes, more than the {max_bytes:,} expected; "
                f"nothing was extracted. The archive is not the original; delete it and fetch it again."
            )
        written = 0
        try:
            for member in members:
                target = destination / member.filename
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written_paths.append(target)
                with zf.open(member) as src, open(target, "wb") as dst:
                    while True:
                        try:
                            block = src.read(_BLOCK)
                        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as err:
                            raise _damaged(archive, f"member {member.filename!r}: {err}", "extracted") from None
                        if not block:
                            break
                        written += len(block)
                        if max_bytes is not None and written > max_bytes:
                            raise CorruptArchive(
                                f"{archive}: extraction exceeded the {max_bytes:,} bytes expected (at member "
                                f"{member.filename!r}); stopped and removed what was extracted. The archive "
                                f"is not the original; delete it and fetch it again."
                            )
                        dst.write(block)
        except BaseException:
            for path in written_paths:
                path.unlink(missing_ok=True)
            raise


def _names(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _files_under(folder: Path) -> dict[str, Path]:
    """{relative posix path: path} of every file under `folder` (links to files count as files)."""
    found = {}
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_file():
                found[path.relative_to(folder).as_posix()] = path
    return found


def _list_problems(folder: Path, manifest: dict[str, str], present) -> list[str]:
    problems = []
    missing = sorted(set(manifest) - set(present))
    unknown = sorted(set(present) - set(manifest))
    if missing:
        problems.append(f"{len(missing)} file(s) of the manifest are missing: {_names(missing)}")
    if unknown:
        problems.append(f"{len(unknown)} file(s) are not in the manifest: {_names(unknown)}")
    return problems


def verify_manifest(folder: str | os.PathLike, manifest: dict[str, str]) -> None:
    """Check that `folder` holds exactly the files of `manifest`, each with its sha256.

    Raises `ChecksumMismatch` naming every missing file, every file the manifest does not know
    and every file whose content differs (up to ten of each, with the counts).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ChecksumMismatch(f"{folder}: no such folder to verify against the manifest")
    present = _files_under(folder)
    problems = _list_problems(folder, manifest, present)
    altered = sorted(rel for rel in set(manifest) & set(present) if files.sha256_file(present[rel]) != manifest[rel])
    if altered:
        problems.append(
            f"{len(altered)} file(s) differ from the manifest's sha256 (corrupted or replaced): {_names(altered)}"
        )
    if problems:
        raise ChecksumMismatch(f"{folder} is not the original dataset: " + "; ".join(problems) + ".")


def _fingerprint(manifest: dict[str, str]) -> str:
    return hashlib.sha256(repr(sorted(manifest.items())).encode()).hexdigest()


def _verify_tree(folder: Path, manifest: dict[str, str]) -> None:
    """`verify_manifest` once per process; later calls compare sizes and modification times only."""
    key = (str(folder), _fingerprint(manifest))
    stamps = {rel: _stamp(p) for rel, p in _files_under(folder).items()}
    if _VERIFIED_TREES.get(key) == stamps:
        return
    verify_manifest(folder, manifest)
    _VERIFIED_TREES[key] = stamps


# ---------------------------------------------------------------------------------------------
# Hymenoptera (ants and bees).
# ---------------------------------------------------------------------------------------------


def _hymenoptera_cap() -> int:
    from . import catalog

    return catalog.HYMENOPTERA_MAX_BYTES


def _copy_mirror_tree(source: Path, staged: Path, mirror: Path, manifest: dict[str, str]) -> None:
    """Copy the mirror's ``hymenoptera_data`` to `staged` after checking its links, names and size."""
    for dirpath, dirnames, filenames in os.walk(source):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                _check_link(path, mirror)
    present = _files_under(source)
    problems = _list_problems(source, manifest, present)
    if problems:
        raise ChecksumMismatch(
            f"{source} (the mirror's copy) is not the original dataset: "
            + "; ".join(problems)
            + ". Nothing was copied; fix or remove the mirror's copy."
        )
    total, cap = sum(p.stat().st_size for p in present.values()), _hymenoptera_cap()
    if total > cap:
        raise CorruptArchive(
            f"{source} holds {total:,} bytes, more than the {cap:,} expected of the ants/bees "
            f"set; nothing was copied. The mirror's copy is not the original."
        )
    shutil.copytree(source, staged, copy_function=shutil.copyfile)
    for folder in [staged, *(p for p in staged.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)  # a read-only mirror must not give us folders we cannot delete


def _extract_zip(archive: Path, work: Path, staged: Path, origin: str) -> None:
    extracted = work / "extracted"
    try:
        safe_extract(archive, extracted, max_bytes=_hymenoptera_cap())
    except CorruptArchive as err:
        raise CorruptArchive(f"{origin}: {err}" if origin != str(archive) else str(err)) from None
    if not (extracted / "hymenoptera_data").is_dir():
        raise DatasetUnavailable(f"{origin} holds no hymenoptera_data/ folder; it is not the ants/bees archive.")
    os.replace(extracted / "hymenoptera_data", staged)


def prepare_hymenoptera() -> Path:
    """Make sure ``data/hymenoptera_data/{train,val}/{ants,bees}`` exists and is the original set.

    Returns its folder. The set in ``data/`` is verified against the package's sha256 manifest
    (once per process); a missing one comes from the mirror (``hymenoptera_data/`` copied as is,
    or ``hymenoptera_data.zip``) or the canonical zip (extracted with `safe_extract`), is staged
    in a ``.partial`` folder next to ``data/hymenoptera_data``, verified against the manifest,
    and only then moved into place: a failure leaves nothing half-written in ``data/``. Raises
    `ChecksumMismatch` naming missing, extra or altered files, `CorruptArchive` for a damaged zip,
    `UnsafeLink` / `UnsafeArchive` for links or members leading outside, `DatasetUnavailable`.
    """
    root = data_dir()
    target = root / "hymenoptera_data"
    _clean(root)
    manifest = read_manifest(HYMENOPTERA_MANIFEST)
    if target.is_symlink() or target.exists():
        return _verified_prepared_tree(target, manifest)
    mirror = mirror_dir()
    work = partial_name(target)
    work.mkdir(parents=True)
    try:
        staged = work / "hymenoptera_data"
        tree = mirror / "hymenoptera_data" if mirror is not None else None
        if tree is not None and (tree.is_symlink() or tree.exists()):
            _check_link(tree, mirror)
        if tree is not None and (tree / "train").is_dir():
            _copy_mirror_tree(tree, staged, mirror, manifest)
        elif (archive := _find_in_mirror("hymenoptera_data.zip", ("",))) is not None:
            _extract_zip(archive, work, staged, str(archive))
        else:
            try:
                archive = _download(HYMENOPTERA_URL, work)
            except Exception as err:
                raise DatasetUnavailable(
                    _unavailable_message("hymenoptera_data", [target], [f"{HYMENOPTERA_URL}: {err}"])
                ) from None
            _extract_zip(archive, work, staged, f"the download of {HYMENOPTERA_URL}")
        if not (staged / "train").is_dir() or not (staged / "val").is_dir():
            raise DatasetUnavailable(f"the ants/bees set has no train/ and val/ folders in {staged}")
        verify_manifest(staged, manifest)
        try:
            os.replace(staged, target)
        except OSError:
            if not target.is_dir():  # not another process that finished first
                raise
        _verify_tree(target, manifest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _verified_prepared_tree(target: Path, manifest: dict[str, str]) -> Path:
    if not target.is_dir():
        raise ChecksumMismatch(
            f"{target} is not a folder; delete it and run `python -m coursekit.data prepare hymenoptera` again."
        )
    try:
        _verify_tree(target, manifest)
    except ChecksumMismatch as err:
        raise ChecksumMismatch(
            f"{err} Delete {target} and run `python -m coursekit.data prepare hymenoptera` to install a good "
            f"copy (or remove just the files named above, if you added them)."
        ) from None
    return target


# ---------------------------------------------------------------------------------------------
# Command line: python -m coursekit.data prepare [names...]
# ---------------------------------------------------------------------------------------------

PREPARERS = {
    "mnist": lambda: prepare_idx("mnist"),
    "fashion_mnist": lambda: prepare_idx("fashion_mnist"),
    "hymenoptera": prepare_hymenoptera,
}


def main(argv: list[str] | None = None) -> int:
    """``prepare [names...]``: prepare the named datasets (all by default); 0 on success, 1 on a
    data problem (its message printed on one line), 2 on a usage error."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "prepare":
        print("usage: python -m coursekit.data prepare [" + " ".join(PREPARERS) + "]", file=sys.stderr)
        return 2
    names = argv[1:] or list(PREPARERS)
    for name in names:
        if name not in PREPARERS:
            print(f"error: {UnknownName('dataset', name, PREPARERS)}", file=sys.stderr)
            return 2
    for name in names:
        try:
            where = PREPARERS[name]()
        except DATA_ERRORS as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(f"{name}: ready in {where}")
    return 0


__all__ = [
    "ChecksumMismatch",
    "CorruptArchive",
    "DATA_ERRORS",
    "DatasetUnavailable",
    "PREPARERS",
    "UnsafeArchive",
    "UnsafeLink",
    "UnsafeSource",
    "forget_verified",
    "main",
    "prepare_hymenoptera",
    "prepare_idx",
    "safe_extract",
    "verify_manifest",
]
