"""What reaches the console of a `msposejax` command besides its results: the help, our errors
in one line; library notes and the noise around a damaged checkpoint dropped (IO: logging
handlers, hooks).

A training's full library log goes to its workdir (`training/log_file.py`); commands without a
workdir have no log, so what is dropped here is nothing a user can act on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import textwrap
import threading
from typing import Iterator

from absl import logging as absl_logging

from msposejax import library_internals
from msposejax.commands import COMMANDS, FLAGS, name


def overview() -> str:
  """`msposejax --help`: every command with one line and an example."""
  width = max(len(name(c)) for c in COMMANDS)
  lines = ["usage: msposejax COMMAND [--flag=value ...] [--config FILE --config.FIELD=value ...]",
           "", "commands:"]
  for command, spec in COMMANDS.items():
    lines += [f"  {name(command):<{width}}  {spec.summary}", f"  {'':<{width}}    e.g. "
              f"{spec.example}"]
  return "\n".join(lines + ["", "`msposejax COMMAND --help` lists that command's flags. Docs: "
                            "README.md, docs/."])


def command_help(command: tuple[str, ...]) -> str:
  """`msposejax CMD --help`: its flags and what each means."""
  spec = COMMANDS[command]
  config = {"none": "", "optional": " [--config FILE [--config.FIELD=value ...]]",
            "required": " --config FILE [--config.FIELD=value ...]"}[spec.config]
  lines = [f"usage: msposejax {name(command)} " + " ".join(
      f"--{f}=..." if f in spec.required else f"[--{f}=...]" for f in spec.flags
      if f != "config") + config, "", spec.summary, f"example: {spec.example}", "", "flags:"]
  for flag in spec.flags:
    _, default, text = FLAGS[flag][:3]
    extra = " (required)" if flag in spec.required else (
        f" (default: {default})" if default not in (None, False, "") else "")
    lines.append(f"  --{flag}")
    lines += textwrap.wrap(text + extra, 88, initial_indent="      ", subsequent_indent="      ")
  if spec.config != "none":
    lines += ["  --config.FIELD=value", "      override one field of the config file, e.g. "
              "--config.batch_size=16 (a typo gets a suggestion)"]
  return "\n".join(lines)


def misused_flags(command: tuple[str, ...], given: list[str]) -> str | None:
  """A one-line error for flags this command does not take (one flag, one meaning), or None."""
  spec = COMMANDS[command]
  wrong = [f for f in given if f not in spec.flags]
  if not wrong:
    return None
  hints = {"checkpoint": "eval takes --step N (a step of --workdir); import-torch takes "
                         "--torch_weights FILE"}
  hint = "; ".join(hints[f] for f in wrong if f in hints)
  return (f"{name(command)} does not take {', '.join('--' + f for f in wrong)}"
          + (f" ({hint})" if hint else "")
          + f"; its flags: {', '.join('--' + f for f in spec.flags)} "
          f"(msposejax {name(command)} --help)")


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
  loss, a busy or unwritable workdir, a busy output); looked up lazily so that start-up
  imports no training code."""
  types: list[type[BaseException]] = [FileNotFoundError, FileExistsError, ImportError,
                                      ValueError]
  for module, attr in (("msposejax.training.loop", "NonFiniteLossError"),
                       ("msposejax.training.workdir_lock", "WorkdirBusyError"),
                       ("msposejax.training.workdir_lock", "WorkdirUnwritableError")):
    if module in sys.modules and hasattr(sys.modules[module], attr):
      types.append(getattr(sys.modules[module], attr))
  return tuple(types)


# Library warnings that say nothing a user can act on: orbax opening a checkpoint read-only
# (4 lines of every predict, eval and export), the ONNX serialiser skipping the types of
# constant shapes (32 lines for the COCO CPU model, #27 item 13), and TFDS making a builder for
# a named configuration (`synthetic_people/train=N,...`, `coco/...`: `data show`, `data
# prepare`; a training's go to its log, training/log_file.py).
_LIBRARY_NOTES = (library_internals.READ_ONLY_NOTES + library_internals.TFDS_BUILDER_NOTES
                  + ("The value type for shape",))


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


@contextlib.contextmanager
def quiet_closed_pipe() -> Iterator[None]:
  """`msposejax ... | head`: output its reader stops reading ends quietly, with the exit
  status 141 of a command killed by SIGPIPE (as a shell's own tools end), not a traceback."""
  try:
    yield
  except BrokenPipeError:
    # Python flushes stdout again at exit, which would fail again: point it at nothing.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(141)


def quiet_closed_loop_callbacks() -> None:
  """Drops `RuntimeError: Event loop is closed` raised in a thread other than the main one.

  When orbax gives up on a damaged checkpoint it closes its asyncio loop while tensorstore is
  still finishing reads; each late callback fails in tensorstore's thread and is printed
  (as an unraisable exception): 10-800 tracebacks around the one line that says which file is
  damaged (#27 item 4). Its unawaited read coroutines report the same reads again when they
  are collected (a resume through two damaged steps: 100,125 lines). They report nothing but
  that the restore was abandoned.
  """
  def closed_loop(exc) -> bool:
    return (library_internals.is_closed_loop_error(exc)
            and threading.current_thread() is not threading.main_thread())

  previous, previous_threading = sys.excepthook, threading.excepthook
  previous_unraisable = sys.unraisablehook

  def excepthook(exc_type, exc, tb):
    if not closed_loop(exc):
      previous(exc_type, exc, tb)

  def threading_hook(args):
    if not closed_loop(args.exc_value):
      previous_threading(args)

  def unraisablehook(args):  # how pybind11 reports an exception in tensorstore's callbacks,
    # and how an orbax read coroutine closed unawaited at exit is reported
    if not (closed_loop(args.exc_value) or library_internals.is_orbax_coroutine(args.object)):
      previous_unraisable(args)

  sys.excepthook, threading.excepthook = excepthook, threading_hook
  sys.unraisablehook = unraisablehook
