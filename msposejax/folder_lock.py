"""One process at a time in a folder (IO): an advisory `flock` on a lock file there, which
the kernel drops when its process dies, so a killed run never leaves a folder locked.

A training holds its workdir's (`training/workdir_lock.py`), a predict its --out's
(`inference/predict_files.py`); each says in its own words who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pathlib
import socket
import time
from typing import Callable, Iterator

LOCK_FILE = ".msposejax.lock"
_held: set[str] = set()  # the lock files this process holds


@contextlib.contextmanager
def folder_lock(path: str | os.PathLike, busy: Callable[[str], BaseException],
                reentrant: bool = False) -> Iterator[None]:
  """Holds the lock file `path` (its folder created), its text saying who holds it.

  Args:
    path: the lock file.
    busy: the error to raise, given the holder's text ("pid 12 on host, since …"), where
      another holder has it.
    reentrant: a holder in this process may take it again (else it is refused, as another
      process would be).

  Raises:
    busy(holder): held elsewhere (or here, not reentrant).
    OSError: the folder cannot be written (a full disk, a read-only mount), before any work.
  """
  path = pathlib.Path(path)
  if reentrant and str(path) in _held:
    yield
    return
  path.parent.mkdir(parents=True, exist_ok=True)
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.read(fd, 500).decode(errors="replace").strip() or "another process"
      raise busy(holder) from None
    # The first write of a run: a full disk is said here, before any work.
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}, since "
                 f"{time.strftime('%Y-%m-%d %H:%M:%S')}".encode())
    os.fsync(fd)
    _held.add(str(path))
    try:
      yield
    finally:
      _held.discard(str(path))
  finally:
    os.close(fd)  # closing drops the lock; the file stays (its text is informative)
