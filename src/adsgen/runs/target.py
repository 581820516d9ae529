"""The output folder of a file run (`generate --out`): claimed, checked, staged, replaced.

A run must never lose a user's file nor leave half a run behind, whatever else happens on
the machine. So:

- `claimed` holds an exclusive lock (flock) on a lock file beside the target for the whole
  run: a second run on the same target fails at once, naming the first one's pid; `load`
  takes it shared, so a run cannot replace a folder being loaded. The lock file is removed
  when the last holder leaves.
- `check_out` refuses a target that cannot be replaced by a rename (a mount point, the
  current folder or one holding it), a non-empty one without `overwrite`, and, with it, one
  holding anything the previous manifest does not list as adsgen's (see
  `adsgen.runs.manifest.compare_folder`). It returns a snapshot of the target.
- `staged` gives a hidden folder beside the target (same filesystem, so the final rename is
  atomic), named `.<target>.adsgen-<pid>-<hex>`; at the end it replaces the target only if
  the target still matches the snapshot taken at the start, else it refuses and keeps it.
- `clean_stale` removes such hidden folders left by runs that were killed (their pid is
  dead), and puts back a previous run a killed run had moved aside before replacing it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adsgen.exceptions import AdsgenError
from adsgen.runs.manifest import (
    MANIFEST_NAME,
    compare_folder,
    first_names,
    recorded_files,
    walk,
)

__all__ = ["LOCK_SUFFIX", "Snapshot", "check_out", "claimed", "clean_stale", "staged"]

LOCK_SUFFIX = ".adsgen-lock"
_STAGE = re.compile(r"\.(?P<name>.+)\.adsgen-(?P<pid>\d{1,10})-[0-9a-f]{6}(?P<old>-old)?")

Snapshot = frozenset[tuple[str, int, int]]
"""Every entry under a folder: (relative path, size, mtime in ns); folders end with "/"."""


# --- one run at a time -----------------------------------------------------------------------


def _lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}{LOCK_SUFFIX}"


def _holder(fd: int) -> str:
    """' (pid N)' from a lock file's content, or '' when it holds none."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""


@contextmanager
def claimed(out: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold the lock of target `out` (exclusive: a run writing it; shared: a load reading it)
    until the block ends. Missing parent folders are created, and removed again when the
    block leaves no `out` behind. Raises AdsgenError when another run holds it."""
    missing = [p for p in (out.parent, *out.parent.parents) if not p.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AdsgenError(f"cannot create the folder of {str(out)!r}: {exc.strerror}") from exc
    try:
        fd = _acquire(_lock_path(out), out, shared=shared)
        try:
            yield
        finally:
            _release(fd, _lock_path(out), shared=shared)
    finally:
        if not out.exists():
            for folder in missing:
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _acquire(path: Path, out: Path, *, shared: bool) -> int:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if shared and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
                return -1  # a read-only place: nobody replaces the folder from here either
            raise AdsgenError(f"cannot lock {str(out)!r}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            doing = "writing" if not shared else "writing or replacing"
            raise AdsgenError(
                f"another adsgen run{holder} is {doing} {str(out)!r}; wait for it to end or "
                "choose another folder"
            ) from None
        # The holder before us may have removed the file after we opened it: then our lock
        # is on a file nobody else will open; start again on the one at `path`.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            if not shared:
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
            return fd
        os.close(fd)


def _release(fd: int, path: Path, *, shared: bool) -> None:
    if fd < 0:
        return
    try:
        if shared:  # remove the file only when no other load holds it
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)


# --- what may be replaced --------------------------------------------------------------------


def check_out(out: Path, *, overwrite: bool) -> Snapshot:
    """Refuse an `out` we must not write (see the module docstring); its snapshot."""
    if out.parent == out:
        raise AdsgenError(f"--out {str(out)!r}: give a folder inside a folder, not the root")
    try:
        here = Path.cwd().resolve()
    except OSError:
        here = None
    if here is not None and (out == here or out in here.parents):
        raise AdsgenError(
            f"--out {str(out)!r} is the current folder or holds it; a run replaces --out "
            "as a whole: give a new folder, e.g. --out ./out"
        )
    if out.exists() and not out.is_dir():
        raise AdsgenError(f"--out {str(out)!r} is a file; give a folder")
    if out.is_dir() and os.path.ismount(out):
        raise AdsgenError(
            f"--out {str(out)!r} is a mount point, which a run cannot replace (it writes "
            f"beside --out and renames): give a folder inside it, e.g. --out {out / 'run'}"
        )
    entries = sorted(out.iterdir()) if out.is_dir() else []
    if not entries:
        return snapshot(out)
    previous = (out / MANIFEST_NAME).exists()
    what = "holds a previous run" if previous else "is not empty"
    if not overwrite:
        hint = "pass --overwrite to replace it or " if previous else ""
        raise AdsgenError(f"--out {str(out)!r} {what}; {hint}choose another --out")
    try:
        diff = compare_folder(out, recorded_files(out))
    except AdsgenError as exc:
        raise AdsgenError(f"--out: {exc}; --overwrite only replaces a run adsgen recorded: "
                          "choose another --out") from exc
    if diff.unrecorded:
        raise AdsgenError(
            f"--out {str(out)!r} holds files adsgen did not write "
            f"({first_names(diff.unrecorded)}); --overwrite only replaces a previous run: "
            "choose another --out"
        )
    if diff.changed:
        raise AdsgenError(
            f"--out {str(out)!r} holds files changed since adsgen wrote them "
            f"({first_names(diff.changed)}); --overwrite only replaces a previous run as it "
            "was written: choose another --out"
        )
    return snapshot(out)


def snapshot(folder: Path) -> Snapshot:
    """Every entry under `folder`, symlinks not followed; empty when it does not exist."""
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return frozenset()
    if not stat.S_ISDIR(info.st_mode):
        return frozenset({("", info.st_size, info.st_mtime_ns)})
    seen: set[tuple[str, int, int]] = set()
    for name, entry in walk(folder):
        if entry.is_dir(follow_symlinks=False):
            seen.add((name + "/", 0, 0))
        else:
            info = entry.stat(follow_symlinks=False)
            seen.add((name, info.st_size, info.st_mtime_ns))
    return frozenset(seen)


def changes(folder: Path, before: Snapshot) -> list[str]:
    """The paths under `folder` added, removed or changed since `before`."""
    return sorted({entry[0] or folder.name for entry in snapshot(folder) ^ before})


def ensure_unchanged(out: Path, before: Snapshot) -> None:
    """Raise AdsgenError when `out` is no longer what `before` recorded."""
    changed = changes(out, before)
    if changed:
        raise AdsgenError(_changed_message(out, changed))


def _changed_message(out: Path, changed: list[str]) -> str:
    return (f"--out {str(out)!r} changed while this run was writing ({first_names(changed)}); "
            "it was left as it is and this run's files were removed")


# --- staging ---------------------------------------------------------------------------------


@contextmanager
def staged(out: Path, before: Snapshot) -> Iterator[Path]:
    """A new hidden folder beside `out` to write into; when the block ends without error it
    becomes `out` (replacing it, if `out` still matches `before`), else it is deleted."""
    try:
        stage = out.parent / f".{out.name}.adsgen-{os.getpid()}-{secrets.token_hex(3)}"
        stage.mkdir()
    except OSError as exc:
        raise AdsgenError(f"cannot write next to --out {str(out)!r}: {exc.strerror}") from exc
    try:
        yield stage
        _replace(out, stage, before)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _replace(out: Path, stage: Path, before: Snapshot) -> None:
    """Rename `stage` to `out`; a present `out` is first moved aside and checked against
    `before` (moved back, and AdsgenError, when it changed), then removed."""
    if not os.path.lexists(out):
        _rename(stage, out)
        return
    old = stage.with_name(stage.name + "-old")
    _rename(out, old)
    changed = changes(old, before)
    if changed:
        old.rename(out)
        raise AdsgenError(_changed_message(out, changed))
    try:
        _rename(stage, out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _rename(source: Path, target: Path) -> None:
    try:
        source.rename(target)
    except OSError as exc:
        raise AdsgenError(f"cannot replace {str(target)!r}: {exc.strerror}") from exc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # another user's process (an out-of-range pid is no process)
    return True


def clean_stale(out: Path) -> list[Path]:
    """Remove the hidden folders beside `out` of runs on it whose process is gone; a
    previous run such a run had moved aside is renamed back to `out` when `out` is missing.
    Call it holding the target's lock. Returns the folders removed or restored."""
    found = []
    try:
        with os.scandir(out.parent) as entries:
            for entry in entries:
                match = _STAGE.fullmatch(entry.name)
                if (match and match["name"] == out.name and entry.is_dir(follow_symlinks=False)
                        and not _alive(int(match["pid"]))):
                    found.append((Path(entry.path), match["old"] is not None))
    except OSError:
        return []
    for path, old in sorted(found, key=lambda f: not f[1]):  # moved-aside runs first
        if old and not os.path.lexists(out):
            with contextlib.suppress(OSError):
                path.rename(out)
                continue
        shutil.rmtree(path, ignore_errors=True)
    return [path for path, _ in found]
