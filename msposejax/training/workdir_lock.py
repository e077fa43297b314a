"""One training per workdir (IO): an advisory lock that the kernel drops when its process
dies, so a killed run never leaves a workdir locked."""

from __future__ import annotations

import fcntl
import os
import pathlib
import socket
import time

LOCK_FILE = ".msposejax.lock"


class WorkdirBusyError(RuntimeError):
  """Another process is training in this workdir."""


class WorkdirLock:
  """`with WorkdirLock(workdir):` holds the workdir's lock, or raises WorkdirBusyError at once
  naming the process that holds it. Remote workdirs (gs://…) are not locked."""

  def __init__(self, workdir: str | os.PathLike):
    self.path = None if "://" in str(workdir) else pathlib.Path(workdir) / LOCK_FILE
    self._fd: int | None = None

  def __enter__(self) -> "WorkdirLock":
    if self.path is None:
      return self
    self.path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.read(fd, 500).decode(errors="replace").strip() or "another process"
      os.close(fd)
      raise WorkdirBusyError(f"{self.path.parent} is in use by a running training ({holder}); "
                             "wait for it, stop it, or use another --workdir") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}, since "
                 f"{time.strftime('%Y-%m-%d %H:%M:%S')}".encode())
    self._fd = fd
    return self

  def __exit__(self, *exc) -> None:
    if self._fd is not None:
      os.close(self._fd)  # closing drops the lock; the file stays (its text is informative)
      self._fd = None
