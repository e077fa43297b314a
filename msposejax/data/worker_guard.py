"""Grain worker processes (IO: signals, processes): they ignore the terminal's Ctrl-C, which
is the trainer's to handle, and exit when the trainer dies (even by SIGKILL).

A terminal's Ctrl-C sends SIGINT to the whole process group: without this, the workers die
with KeyboardInterrupt and take the trainer down before it can save. grain offers no hook
for its DataLoader's workers, so the transforms call `guard_worker()` when a worker unpickles
them as it starts (and again, at no cost, on each example).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time

import cv2

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
  _ignore_sigint()
  # The parent that spawned us, not os.getppid(): a worker whose trainer died while it was
  # still starting has been re-parented already, and must exit at once.
  parent = multiprocessing.parent_process().pid
  threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True,
                   name="exit-with-parent").start()


def _ignore_sigint() -> None:
  if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return
  # signal.signal only works in the main thread; the process-wide C disposition can be set
  # from any thread (grain runs transforms in reader threads).
  libc = ctypes.CDLL(None, use_errno=True)
  libc.signal.restype = ctypes.c_void_p
  libc.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
  libc.signal(int(signal.SIGINT), ctypes.c_void_p(1))  # SIG_IGN


def _exit_with_parent(parent: int) -> None:
  # A killed parent's children are re-parented (to init or a subreaper): poll for it.
  while os.getppid() == parent:
    time.sleep(0.5)
  os._exit(0)
