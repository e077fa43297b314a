"""What reaches the console of a `msposejax` command: library notes and the noise around a
damaged checkpoint are dropped; our own errors are one line (IO: logging handlers, hooks).

A training's full library log goes to its workdir (`training/log_file.py`); commands without a
workdir have no log, so what is dropped here is nothing a user can act on.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from absl import logging as absl_logging

# Library warnings that say nothing a user can act on, printed by every predict, eval and
# export: orbax opening a checkpoint read-only (4 lines), and the ONNX serialiser skipping
# the types of constant shapes (32 lines for the COCO CPU model, #27 item 13).
_LIBRARY_NOTES = ("CheckpointManagerOptions.read_only=True", "Given directory is read only",
                  "The value type for shape")


class DropLibraryNotes(logging.Filter):
  """Drops `_LIBRARY_NOTES` below ERROR, and asyncio's reports of abandoned restore reads."""

  def filter(self, record: logging.LogRecord) -> bool:
    message = record.getMessage()
    if record.name == "asyncio" and message.startswith(("Future exception was never retrieved",
                                                        "Task exception was never retrieved")):
      return False  # the reads of a restore abandoned on a damaged checkpoint, said in one line
    return record.levelno >= logging.ERROR or not message.startswith(_LIBRARY_NOTES)


def quiet_library_logs() -> None:
  """Library INFO reaches a training's log file (training/log_file.py), never the console:
  not even before that file is open (JAX's first backend lookup logs each platform it could
  not start), nor in commands without a workdir (newer orbax releases, e.g. the Python 3.12
  stack's, log every restore at INFO through absl's handler)."""
  handler = absl_logging.get_absl_handler()
  handler.setLevel(logging.WARNING)
  if not any(isinstance(f, DropLibraryNotes) for f in handler.filters):
    handler.addFilter(DropLibraryNotes())


def quiet_closed_loop_callbacks() -> None:
  """Drops `RuntimeError: Event loop is closed` raised in a thread other than the main one.

  When orbax gives up on a damaged checkpoint it closes its asyncio loop while tensorstore is
  still finishing reads; each late callback fails in tensorstore's thread and is printed
  (as an unraisable exception): 10-800 tracebacks around the one line that says which file is
  damaged (#27 item 4). Its unawaited read coroutines report the same reads again when they
  are collected (a resume through two damaged steps: 100,125 lines). They report nothing but
  that the restore was abandoned.
  """
  def closed_loop(exc_type, exc) -> bool:
    return (exc_type is RuntimeError and str(exc) == "Event loop is closed"
            and threading.current_thread() is not threading.main_thread())

  previous, previous_threading = sys.excepthook, threading.excepthook
  previous_unraisable = sys.unraisablehook

  def excepthook(exc_type, exc, tb):
    if not closed_loop(exc_type, exc):
      previous(exc_type, exc, tb)

  def threading_hook(args):
    if not closed_loop(args.exc_type, args.exc_value):
      previous_threading(args)

  def abandoned_read(obj) -> bool:  # an orbax read coroutine closed unawaited at exit
    code = getattr(obj, "cr_code", None)
    return code is not None and f"{os.sep}orbax{os.sep}" in code.co_filename

  def unraisablehook(args):  # how pybind11 reports an exception in tensorstore's callbacks
    if not (closed_loop(args.exc_type, args.exc_value) or abandoned_read(args.object)):
      previous_unraisable(args)

  sys.excepthook, threading.excepthook = excepthook, threading_hook
  sys.unraisablehook = unraisablehook


def one_line(error: BaseException) -> str:
  """An error's message on one line. KeyErrors from ml_collections arrive as a repr
  ("'x'\\nDid you mean ..."): only a message quoted as a whole is unquoted, so one that
  merely ends in a quoted value (`... base 10: 'abc'`) keeps its quotes."""
  message = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
  if len(message) > 1 and message[0] == message[-1] and message[0] in "'\"":
    message = message[1:-1]
  message = message.replace("\\n", " ").replace("\\'", "'")
  return " ".join(message.split())


def user_errors() -> tuple[type[BaseException], ...]:
  """Errors we raise on bad input (missing dataset, another model's checkpoint, non-finite
  loss, a busy workdir or output); looked up lazily so that start-up imports no training
  code."""
  types: list[type[BaseException]] = [FileNotFoundError, FileExistsError, ImportError,
                                      ValueError]
  for module, name in (("msposejax.training.loop", "NonFiniteLossError"),
                       ("msposejax.training.workdir_lock", "WorkdirBusyError")):
    if module in sys.modules:
      types.append(getattr(sys.modules[module], name))
  return tuple(types)
