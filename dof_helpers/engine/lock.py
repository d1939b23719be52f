"""One driver per records folder: a lock file that names its holder.

Two sweeps appending to the same records folder would both train the same pending
runs and write duplicates. :func:`records_lock` makes the second one fail at once::

    with engine.records_lock("runs/05_phase_transition"):
        engine.run_sweep(config_a, ...)      # run_sweep takes the same lock itself;
        engine.run_sweep(config_b, ...)      # inside, that is a no-op (re-entrant)

The lock is the file :data:`LOCK_NAME` in the folder, created atomically (a hard link
of a complete temporary file, or ``O_CREAT | O_EXCL`` where links are not supported),
holding JSON ``{host, pid, started, command, token}``. On conflict:

- the holder is this process: re-entrant (a count, released by the outermost exit);
- the holder ran on this host and its process no longer exists (killed, crashed,
  pid reused by another program): the lock is stale and is taken over;
- otherwise :class:`RecordsLocked` (a ``RuntimeError``) names the holder's host, pid,
  start time and command.

The lock is released (the file removed) when the ``with`` block exits, however it exits.
A process killed with SIGKILL leaves the file behind; the next driver on the same host
takes it over. A lock left by a dead process on *another* host cannot be checked from
here: the error says which file to delete once you know that process is gone.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

LOCK_NAME = ".sweep.lock"
_TAKEOVER_STALE_S = 30.0

_held: dict[str, list] = {}  # lock path -> [count, token, pid]
_guard = threading.Lock()


class RecordsLocked(RuntimeError):
    """Another live driver holds the records folder's lock; ``holder`` is its JSON."""

    def __init__(self, path: Path, holder: dict | None, reason: str = ""):
        self.path, self.holder = path, holder or {}
        h = self.holder
        who = (f"host {h.get('host', '?')}, pid {h.get('pid', '?')}, started {h.get('started', '?')}"
               + (f", command {h.get('command')!r}" if h.get("command") else ""))
        hint = ("Wait for it to finish or stop it. " if h.get("host") == socket.gethostname() else
                f"If that process is gone (it ran on another host, so this one cannot check), delete {path}. ")
        super().__init__(f"the records folder {path.parent} is in use by another sweep ({who}){reason}. {hint}"
                         "Two drivers on one folder would train the same runs twice and write duplicates.")


def lock_path(folder) -> Path:
    """The lock file of the records folder ``folder``."""
    return Path(folder) / LOCK_NAME


def read_holder(folder) -> dict | None:
    """The JSON of the folder's lock file, ``{}`` if unreadable, None if unlocked."""
    return _read(lock_path(folder))


def _read(path: Path) -> dict | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        out = json.loads(text)
        return out if isinstance(out, dict) else {}
    except ValueError:
        return {}


def _proc_start(pid: int):
    """The process's start time in clock ticks since boot (Linux), None elsewhere or if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) "
    try:
        return fields[0], int(fields[19])  # state, starttime
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int, start_ticks=None) -> bool:
    """Whether process ``pid`` of this host is running (a zombie or a reused pid is not)."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    info = _proc_start(pid)
    if info is not None:
        state, ticks = info
        if state == "Z" or (start_ticks is not None and ticks != start_ticks):
            return False
    return True


def _stale(holder: dict | None) -> bool:
    """A lock whose holder is known to be dead: same host and its pid not running."""
    if not holder or holder.get("host") != socket.gethostname():
        return False
    return not pid_alive(holder.get("pid"), holder.get("pid_start"))


def _content(token: str) -> dict:
    info = _proc_start(os.getpid())
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:300], "token": token, "pid_start": info[1] if info else None}


def _create_exclusive(path: Path, content: dict) -> bool:
    """Create ``path`` holding ``content`` atomically; False if it already exists."""
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(content))
    try:
        try:
            os.link(tmp, path)  # atomic, and the file is complete when it appears
            return True
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps(content))
            return True
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _take_over(path: Path, stale: dict, content: dict) -> bool:
    """Replace the stale lock ``stale`` by ``content``; False if someone else got there first."""
    guard = path.with_name(path.name + ".takeover")
    if not _create_exclusive(guard, content):
        other = _read(guard)
        try:
            age = time.time() - guard.stat().st_mtime
        except OSError:
            age = 0.0
        if not (age > _TAKEOVER_STALE_S or _stale(other)):
            return False
        with contextlib.suppress(OSError):
            guard.unlink()
        if not _create_exclusive(guard, content):
            return False
    try:
        if _read(path) != stale:  # changed since we looked: not ours to take
            return False
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(content))
        os.replace(tmp, path)
        return True
    finally:
        with contextlib.suppress(OSError):
            guard.unlink()


def acquire(folder) -> Path:
    """Take the lock of ``folder`` (created if missing) or raise :class:`RecordsLocked`;
    re-entrant within this process. Pair with :func:`release`, or use :func:`records_lock`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = lock_path(folder).resolve()
    key = str(path)
    with _guard:
        if key in _held and _held[key][2] != os.getpid():
            del _held[key]  # inherited through fork: the parent's, not ours
        if key in _held:
            if (_read(path) or {}).get("token") == _held[key][1]:
                _held[key][0] += 1
                return path
            del _held[key]  # our file was removed or replaced behind our back: take it again
        token = uuid.uuid4().hex
        content = _content(token)
        for _ in range(5):
            if _create_exclusive(path, content):
                break
            holder = _read(path)
            if holder is None:
                continue  # released in between: try again
            mine = holder.get("host") == content["host"] and holder.get("pid") == content["pid"]
            if mine or _stale(holder):
                if _take_over(path, holder, content):
                    break
                continue
            if holder == {}:
                # being written by a driver without hard links, or corrupt: give it a moment
                time.sleep(0.2)
                if _read(path) == {}:
                    raise RecordsLocked(path, {}, f" (the lock file {path} cannot be read)")
                continue
            raise RecordsLocked(path, holder)
        else:
            raise RecordsLocked(path, _read(path), " (the lock changed hands repeatedly while taking it)")
        _held[key] = [1, token, os.getpid()]
        return path


def release(path) -> None:
    """Undo one :func:`acquire` of the lock file ``path``; the outermost removes the file."""
    key = str(Path(path).resolve())
    with _guard:
        entry = _held.get(key)
        if entry is None or entry[2] != os.getpid():
            return
        entry[0] -= 1
        if entry[0] > 0:
            return
        del _held[key]
        if (_read(Path(key)) or {}).get("token") == entry[1]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(key)


@contextlib.contextmanager
def records_lock(folder):
    """Hold the lock of the records folder ``folder`` for the ``with`` block (module docstring)."""
    path = acquire(folder)
    try:
        yield path
    finally:
        release(path)


def held(folder) -> bool:
    """Whether this process holds the lock of ``folder``."""
    entry = _held.get(str(lock_path(folder).resolve()))
    return entry is not None and entry[2] == os.getpid()


def refresh_or_read(folder, settings_path, refresh) -> dict:
    """What a driver's ``--status`` reports: ``refresh()`` (which brings the folder's settings
    file up to date with its records) under the folder's lock; or, while another live driver
    holds the lock, the settings file as that driver keeps it (it rewrites it after every
    record, so it is at most one run behind), read only, with ``driver``: the holder's host,
    pid and start time. Raises :class:`RecordsLocked` if the folder is locked and has no
    settings file to read."""
    try:
        with records_lock(folder):
            return refresh()
    except RecordsLocked as err:
        try:
            info = json.loads(Path(settings_path).read_text())
        except (OSError, ValueError):
            raise err from None
        info["driver"] = {k: err.holder.get(k) for k in ("host", "pid", "started")}
        return info
