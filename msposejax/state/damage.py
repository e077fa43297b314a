"""Damage forensics: which file of a checkpoint step cannot be read, and how, in one line
(IO: reads the step's files). Matches what orbax and tensorstore write and say."""

from __future__ import annotations

import json

from etils import epath

from msposejax import library_internals as li


class DamagedCheckpointError(ValueError):
  """A checkpoint step that cannot be read; the message names the step and the bad file."""


_ITEMS = ("state", "config")  # written by every save (data/ only with an iterator)


def damage_error(directory: epath.Path, step: int, error: BaseException
                 ) -> DamagedCheckpointError | None:
  """The DamagedCheckpointError to raise for `error` (from reading `step` of the checkpoint
  `directory`), or None when no file of the step is at fault (e.g. another model's arrays)."""
  damage = describe_damage(epath.Path(directory) / str(step), error)
  if damage is None:
    return None
  return DamagedCheckpointError(f"checkpoint step {step} in {directory} is damaged: {damage}")


def describe_damage(step_dir: epath.Path, error: BaseException) -> str | None:
  """Which file of a checkpoint step is bad, and how, for a one-line message; None when no
  file is at fault (e.g. the checkpoint is intact but of another model).

  Checks, in order: a missing item folder, an empty file, a metadata file that is not JSON,
  then any file of the step named in the error.
  """
  step_dir = epath.Path(step_dir)
  for item in _ITEMS:
    if not (step_dir / item).is_dir():
      return f"{item}/ is missing"
  files = sorted(_files(step_dir))
  for path in files:
    if path.stat().length == 0 and path.name not in li.EMPTY_FILES_OF_AN_INTACT_STEP:
      return f"{path.relative_to(step_dir)} is empty"
  for path in files:
    if "metadata" in path.name.lower() or path.suffix == ".json":
      try:
        json.loads(path.read_text())
      except (ValueError, UnicodeDecodeError):
        return f"{path.relative_to(step_dir)} is not valid JSON"
  state = step_dir / "state"
  for name in li.STATE_INDEX_FILES:  # without them orbax reads an empty tree
    if not (state / name).exists():
      return f"state/{name} is missing"
  for named in li.paths_named_in(error, step_dir):  # named, and gone (data/process_0-of-1.json)
    if not epath.Path(named).exists():
      return f"{epath.Path(named).relative_to(step_dir)} is missing"
  errors = list(_chain(error))
  for path in files:  # a file named by its path in an error
    if any(str(path) in str(e) for e in errors):
      return f"{path.relative_to(step_dir)} is unreadable"
  for item in _ITEMS:  # OCDBT names the item's folder and the array, not the data file
    for e in reversed(errors):
      if f"{step_dir / item}" in str(e):
        return f"{item}/ is unreadable ({' '.join(str(e).split())[:240]})"
  return None


def _files(folder: epath.Path):
  for path in folder.iterdir():  # epath has no recursive glob on every backend
    if path.is_dir():
      yield from _files(path)
    else:
      yield path


def _chain(error: BaseException):
  while error is not None:
    yield error
    error = error.__cause__ or error.__context__
