"""One training per workdir (IO): `folder_lock` on WORKDIR/.msposejax.lock, in a training's
words."""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib

from msposejax.folder_lock import LOCK_FILE, folder_lock


class WorkdirBusyError(RuntimeError):
  """Another process is training in this workdir."""


class WorkdirUnwritableError(OSError):
  """The workdir cannot be written (a full disk, a read-only mount): said before any work."""


class WorkdirLock:
  """`with WorkdirLock(workdir):` holds the workdir's lock (`folder_lock`), or raises at once
  WorkdirBusyError naming the process that holds it, or WorkdirUnwritableError where the
  workdir cannot be written. Remote workdirs (gs://…) are not locked."""

  def __init__(self, workdir: str | os.PathLike):
    self.path = None if "://" in str(workdir) else pathlib.Path(workdir) / LOCK_FILE
    self._held = contextlib.ExitStack()

  def __enter__(self) -> "WorkdirLock":
    if self.path is not None:
      try:
        self._held.enter_context(folder_lock(self.path, self._busy))
      except WorkdirBusyError:
        raise
      except OSError as e:
        raise self._unwritable(e) from None
    return self

  def _busy(self, holder: str) -> WorkdirBusyError:
    return WorkdirBusyError(f"{self.path.parent} is in use by a running training ({holder}); "
                            "wait for it, stop it, or use another --workdir")

  def _unwritable(self, error: OSError) -> WorkdirUnwritableError:
    reason = (error.strerror or str(error)).lower()
    advice = "free some space there or use" if error.errno == errno.ENOSPC else "use"
    unwritable = WorkdirUnwritableError(f"cannot train in {self.path.parent}: {reason} "
                                        f"({self.path}); {advice} another --workdir")
    unwritable.errno = error.errno
    return unwritable

  def __exit__(self, *exc) -> None:
    self._held.close()
