"""A checkpoint save that the disk refuses: recognised in what orbax, tensorstore or the OS
raise, said in one line, and kept out of the console while orbax's threads log it."""

from __future__ import annotations

import errno
import logging

from msposejax import library_internals


class CheckpointSaveError(ValueError):
  """A step that could not be written (a full disk); the message names it and the last step
  that was."""


def no_space(error: BaseException | None) -> str | None:
  """The OS's words when `error` (or one it came from) is a full disk, else None."""
  while error is not None:
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
      return " ".join(str(error).split())
    text = " ".join(str(error).split())
    if "No space left on device" in text:  # tensorstore's text, with no errno
      return library_internals.tensorstore_write_failure(text) or text[:300]
    error = error.__cause__ or error.__context__
  return None


class DropFullDiskRecords(logging.Filter):
  """Drops the records orbax's save threads log (with a traceback each) when the disk is full:
  the CheckpointSaveError that ends the run says it once."""

  def filter(self, record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    return no_space(error) is None and "No space left on device" not in record.getMessage()
