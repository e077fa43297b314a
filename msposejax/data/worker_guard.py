"""Grain worker processes (IO: signals, processes): they ignore the terminal's Ctrl-C, which
is the trainer's to handle, and exit when the trainer dies (even by SIGKILL).

A terminal's Ctrl-C sends SIGINT to the whole process group: without this, the workers die
with KeyboardInterrupt and take the trainer down before it can save. grain offers no hook
for its DataLoader's workers, so the transforms call `guard_worker()` when a worker unpickles
them as it starts (and again, at no cost, on each example). What that takes of grain and of
the C library lives in `msposejax.library_internals` (`WorkerStartHook`, `ignore_sigint`).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import cv2

from msposejax import library_internals

_main_pid: int | None = None      # the trainer's process (transforms may run in it too)
_guarded_pid: int | None = None   # the process guard_worker() has already set up


def mark_main_process() -> None:
  """Called by the trainer: its own process keeps Ctrl-C (worker_count=0 runs transforms here)."""
  global _main_pid
  _main_pid = os.getpid()


def guard_worker() -> None:
  """In a worker process (once): ignore SIGINT, and exit when the parent process is gone.

  In every process that runs transforms: one OpenCV thread, since parallelism comes from
  the worker processes (and, with worker_count=0, XLA has the cores).
  """
  global _guarded_pid
  pid = os.getpid()
  if _guarded_pid == pid:
    return
  _guarded_pid = pid
  cv2.setNumThreads(1)
  if multiprocessing.parent_process() is None or pid == _main_pid:
    return  # not a worker: the CLI, a test, or the trainer with worker_count=0
  library_internals.ignore_sigint()  # from whichever thread runs the transform
  # The parent that spawned us, not os.getppid(): a worker whose trainer died while it was
  # still starting has been re-parented already, and must exit at once.
  parent = multiprocessing.parent_process().pid
  threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True,
                   name="exit-with-parent").start()


def _exit_with_parent(parent: int) -> None:
  # A killed parent's children are re-parented (to init or a subreaper): poll for it.
  while os.getppid() == parent:
    time.sleep(0.5)
  os._exit(0)
