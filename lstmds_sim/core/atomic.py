"""Files written all at once: a temporary file beside the target, flushed to disk, then renamed over it.

Every file lstmds-sim writes goes through :func:`write_file` (parameters, models,
converted weights, inspector pages, renders, and each file of a run's output
folder). A reader, or a later run, sees the old file or the whole new one, never a
part of it: a full disk, a Ctrl-C, a SIGTERM or a crash in the middle leaves the
old file as it was and removes the temporary one (after a SIGKILL or a power cut
the next write of the same file removes it). A failure is one
:class:`~lstmds_sim.core.errors.WriteError` naming the file: for a full disk, the
bytes it needed and the bytes free.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from pathlib import Path

from .errors import WriteError

__all__ = ["PARTIAL", "describe_write_error", "human_bytes", "sync_folder", "sync_path", "write_file"]

#: The suffix of a temporary file: ``.NAME.PID-RANDOM.lstmds-partial``, beside NAME.
PARTIAL = ".lstmds-partial"

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)


def write_file(path, data: bytes | str, *, overwrite: bool = False, shown_as=None,
               exists_hint: str = "pass overwrite=True to replace it or choose another name") -> Path:
    """Write ``data`` (bytes; a str is written as UTF-8) to ``path`` all at once; return the path.

    The bytes go to a temporary file in the same folder, are flushed to the disk
    (``fsync``), and the file is then renamed to ``path``. Without ``overwrite`` an
    existing ``path`` is refused (``FileExistsError``, ending with ``exists_hint``),
    also one that appears while writing. ``shown_as`` is the path error messages name
    (default ``path``). Folders are made as needed.
    """
    path = Path(path)
    shown = Path(shown_as) if shown_as is not None else path
    if overwrite and path.is_symlink():  # replace the file the link points to, as open(path, "wb") would
        path = Path(os.path.realpath(path))
    data = data.encode("utf-8") if isinstance(data, str) else data
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{shown} exists; {exists_hint}")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise describe_write_error(err, shown, len(data), measured=folder) from None
    _remove_stale_partials(folder, path.name)
    temp = folder / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{PARTIAL}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                     | getattr(os, "O_CLOEXEC", 0), 0o666)  # 0o666: the umask decides the mode, as for open()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(temp, path)
        else:
            _link_new(temp, path, shown, exists_hint)
    except BaseException as err:  # Ctrl-C, SIGTERM, a full disk: nothing left behind
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(err, OSError) and not isinstance(err, (FileExistsError, WriteError)):
            raise describe_write_error(err, shown, len(data), measured=folder) from None
        raise
    sync_folder(folder)
    return path


def _link_new(temp: Path, path: Path, shown: Path, exists_hint: str) -> None:
    """Give ``temp`` the name ``path`` unless ``path`` exists (checked and done in one step)."""
    try:
        os.link(temp, path)
    except FileExistsError:
        raise FileExistsError(f"{shown} exists; {exists_hint}") from None
    except OSError as err:  # a file system without hard links: check, then rename
        if err.errno in _FULL or err.errno in _READ_ONLY or err.errno in (errno.ENOENT, errno.ENOTDIR):
            raise
        if os.path.lexists(path):
            raise FileExistsError(f"{shown} exists; {exists_hint}") from None
        os.replace(temp, path)
        return
    os.unlink(temp)


def _remove_stale_partials(folder: Path, name: str) -> None:
    """Remove the temporary files of ``name`` left by writers that were killed (their process is gone)."""
    prefix = f".{name}."
    try:
        entries = [e.name for e in os.scandir(folder) if e.name.startswith(prefix) and e.name.endswith(PARTIAL)]
    except OSError:
        return
    for entry in entries:
        pid = entry[len(prefix):-len(PARTIAL)].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            try:
                os.unlink(folder / entry)
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or no way to tell: leave its file alone
    return True


def sync_folder(folder) -> None:
    """Flush a folder's entries (a rename) to the disk, where the system allows it (not on Windows)."""
    if os.name != "nt":
        sync_path(folder)


def sync_path(path) -> None:
    """Flush a file, or a folder's entries, to the disk (quietly nothing where the system does not allow it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def human_bytes(n: float) -> str:
    """``n`` bytes in words: ``512 bytes``, ``82.1 MB``."""
    if n < 1000:
        return f"{int(n)} bytes"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    return f"{n:.1f} TB"  # pragma: no cover


def _existing_ancestor(path: Path) -> Path:
    for candidate in [path, *path.parents]:
        if os.path.lexists(candidate):
            return candidate
    return Path(".")


def _fsize_limit() -> str:
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):
        return " (ulimit -f)"
    return " (ulimit -f)" if soft == resource.RLIM_INFINITY else f" (ulimit -f: {human_bytes(soft)})"


def describe_write_error(err: OSError, path, size: int | None = None, *, folder=None,
                         measured=None) -> WriteError:
    """One line for ``err`` raised while writing ``path`` (``size`` bytes), as a :class:`WriteError`.

    ``folder``: the folder named (default: ``path``'s); ``measured``: where the free space is measured
    (default: ``folder``; a run's staging folder, say, while the message names the run's folder).
    """
    path = Path(path)
    folder = Path(folder) if folder is not None else path.parent
    code = err.errno
    if code in _FULL:
        try:
            free = shutil.disk_usage(_existing_ancestor(Path(measured) if measured is not None else folder)).free
            room = f"{human_bytes(free)} free"
        except OSError:
            room = "the free space unknown"
        need = f"it needs {human_bytes(size)}, " if size is not None else ""
        what = "the disk quota is used up" if code != errno.ENOSPC else "the disk is full"
        text = (f"cannot write {path}: {what} ({need}{room} on the disk of {folder}); free some space or write "
                "elsewhere. Nothing was written")
    elif code == errno.EFBIG:
        need = f"{human_bytes(size)} is" if size is not None else "the file is"
        text = (f"cannot write {path}: {need} more than the file-size limit{_fsize_limit()} allows; raise the "
                "limit or write elsewhere. Nothing was written")
    elif code in _READ_ONLY:
        text = (f"cannot write {path}: the folder {folder} is not writable ({err.strerror}); make it writable or "
                "write elsewhere")
    elif code == errno.ENOTDIR or (code == errno.EEXIST and not folder.is_dir()):
        blocker = next((p for p in [folder, *folder.parents] if os.path.lexists(p) and not p.is_dir()), folder)
        text = f"cannot write {path}: {blocker} is a file, not a folder; remove it or write elsewhere"
    elif code == errno.EISDIR:
        text = f"cannot write {path}: it is a folder; give a file name"
    elif code == errno.ENOENT:
        text = f"cannot write {path}: the folder {folder} was removed while writing; nothing was written"
    else:
        text = f"cannot write {path}: {err.strerror or err}"
    out = WriteError(text)
    out.errno = code
    return out
