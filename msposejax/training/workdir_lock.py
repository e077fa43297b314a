"""One training per workdir (IO): an advisory lock that the kernel drops when its process
dies, so a killed run never leaves a workdir locked."""

from __future__ import annotations

import errno
import fcntl
import os
import pathlib
import socket
import time

LOCK_FILE = ".msposejax.lock"


class WorkdirBusyError(RuntimeError):
  """Another process is training in this workdir."""


class WorkdirUnwritableError(OSError):
  """The workdir cannot be written (a full disk, a read-only mount): said before any work."""


class WorkdirLock:
  """`with WorkdirLock(workdir):` holds the workdir's lock, or raises WorkdirBusyError at once
  naming the process that holds it. Remote workdirs (gs://…) are not locked."""

  def __init__(self, workdir: str | os.PathLike):
    self.path = None if "://" in str(workdir) else pathlib.Path(workdir) / LOCK_FILE
    self._fd: int | None = None

  def __enter__(self) -> "WorkdirLock":
    if self.path is None:
      return self
    try:
      self.path.parent.mkdir(parents=True, exist_ok=True)
      fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
      raise self._unwritable(e) from None
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.read(fd, 500).decode(errors="replace").strip() or "another process"
      os.close(fd)
      raise WorkdirBusyError(f"{self.path.parent} is in use by a running training ({holder}); "
                             "wait for it, stop it, or use another --workdir") from None
    try:  # the first write of a run: a full disk is said here, before any work
      os.ftruncate(fd, 0)
      os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}, since "
                   f"{time.strftime('%Y-%m-%d %H:%M:%S')}".encode())
      os.fsync(fd)
    except OSError as e:
      os.close(fd)
      raise self._unwritable(e) from None
    self._fd = fd
    return self

  def _unwritable(self, error: OSError) -> WorkdirUnwritableError:
    reason = (error.strerror or str(error)).lower()
    advice = "free some space there or use" if error.errno == errno.ENOSPC else "use"
    unwritable = WorkdirUnwritableError(f"cannot train in {self.path.parent}: {reason} "
                                        f"({self.path}); {advice} another --workdir")
    unwritable.errno = error.errno
    return unwritable


  def __exit__(self, *exc) -> None:
    if self._fd is not None:
      os.close(self._fd)  # closing drops the lock; the file stays (its text is informative)
      self._fd = None
