"""The full library log of a run goes to a file in its workdir; the console keeps only what a
person needs (IO: files, logging handlers).

orbax, absl, grain and our modules log at INFO (checkpoint renames, thread syncs, compile
times, the parameter table): hundreds of lines a run. `to_file(workdir)` sends every INFO
record that reaches the root logger to WORKDIR/log.txt (log.pN.txt for process N > 0) and
raises the console handlers to WARNING, so warnings and errors still reach the terminal.
orbax logs through absl, whose logger passes INFO on where absl's verbosity allows it (the
`msposejax` command line runs absl's app, which does).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from typing import Iterator

import jax
from etils import epath

from msposejax import library_internals

_FORMAT = "%(asctime)s %(levelname).1s %(name)s: %(message)s"


# Library warnings a person can do nothing about: in the log file, not on the console.
# orbax, at every periodic save of a manager that keeps the best step (those saves have no
# PCKh yet).
_KNOWN_NOISE = frozenset({"Requested `tracked_metric`; did not provide metrics."})
# tensorflow-datasets, each time a builder is made for a named configuration (five times a
# training of `synthetic_people/train=N,...` or `coco/train=F,...`), and before a dataset is
# first prepared.
_KNOWN_NOISE_PREFIXES = library_internals.TFDS_BUILDER_NOTES
# orbax, when a save waits for the one before it (the final save right after a periodic one):
# on the console only when the wait is long enough to matter.
_SAVE_WAIT = "Waiting for previous save to complete took"
SLOW_SAVE_WAIT_S = 30.0


class _DropKnownNoise(logging.Filter):

  def filter(self, record: logging.LogRecord) -> bool:
    if record.levelno >= logging.ERROR:
      return True
    message = record.getMessage()
    if message.startswith(_SAVE_WAIT):  # worth a look only when saves hold training back
      seconds = re.match(_SAVE_WAIT + r" ([0-9.]+) seconds", message)
      return seconds is None or float(seconds.group(1)) >= SLOW_SAVE_WAIT_S
    return message not in _KNOWN_NOISE and not message.startswith(_KNOWN_NOISE_PREFIXES)


class _LogFileHandler(logging.StreamHandler):
  """A stream handler into the log file that counts the records a full disk refused, instead
  of printing a "--- Logging error ---" traceback for each of them on the console."""

  def __init__(self, stream):
    super().__init__(stream)
    self.lost, self.reason = 0, None

  def handleError(self, record: logging.LogRecord) -> None:
    error = sys.exc_info()[1]
    if not isinstance(error, OSError):
      super().handleError(record)
      return
    self.lost += 1
    self.reason = self.reason or (error.strerror or str(error)).lower()

  def close_file(self) -> None:
    try:
      self.stream.close()  # flushes what is buffered: the disk may refuse it too
    except OSError as e:
      self.lost += 1
      self.reason = self.reason or (e.strerror or str(e)).lower()
    self.close()


def _is_console(handler: logging.Handler) -> bool:
  stream = getattr(handler, "stream", None)
  return stream in (sys.stderr, sys.stdout) or type(handler).__name__ == "ABSLHandler"


@contextlib.contextmanager
def to_file(workdir: str | os.PathLike) -> Iterator[epath.Path]:
  """Within the block: INFO and up into the workdir's log file, WARNING and up on the console.

  Yields the log file's path. Handlers that are not the console (a user's own file, pytest's
  capture) keep their levels.
  """
  index = jax.process_index()
  path = epath.Path(workdir) / ("log.txt" if index == 0 else f"log.p{index}.txt")
  path.parent.mkdir(parents=True, exist_ok=True)
  root = logging.getLogger()
  file_handler = _LogFileHandler(path.open("a"))
  file_handler.setFormatter(logging.Formatter(_FORMAT))
  file_handler.setLevel(logging.INFO)
  console = [(h, h.level) for h in root.handlers if _is_console(h)]
  # Without any handler Python prints warnings through logging.lastResort; the file handler
  # would silence that, so such a process (a notebook, a script) gets a stderr one.
  extra = None if root.handlers else logging.StreamHandler(sys.stderr)
  if extra is not None:
    extra.setLevel(logging.WARNING)
    root.addHandler(extra)
  previous_level = root.level
  noise = _DropKnownNoise()
  for handler, level in console:
    handler.setLevel(max(level, logging.WARNING))
    handler.addFilter(noise)
  root.addHandler(file_handler)
  root.setLevel(min(previous_level, logging.INFO) if previous_level else logging.INFO)
  failed = False
  try:
    yield path
  except BaseException:
    failed = True
    raise
  finally:
    root.removeHandler(file_handler)
    file_handler.close_file()
    # The error that ends a failed run says what went wrong (a full disk: the checkpoint that
    # could not be saved); a run that went on without its log hears it once, at the end.
    if file_handler.lost and not failed:
      print(f"note: {file_handler.lost} library log records were not written to {path}: "
            f"{file_handler.reason}", file=sys.stderr, flush=True)
    if extra is not None:
      root.removeHandler(extra)
    for handler, level in console:
      handler.setLevel(level)
      handler.removeFilter(noise)
    root.setLevel(previous_level)
