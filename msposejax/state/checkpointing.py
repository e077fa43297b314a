"""orbax checkpoints (IO): `Checkpointer` owns one workdir's orbax CheckpointManager for its
whole life. A training step holds the train state, the grain iterator's state and the config;
an import-torch step (`save_variables`) the weights and the config.

Layout: WORKDIR/checkpoints/STEP/{state, data, config}. The last `config.checkpoint.keep`
steps are kept, plus the one with the best validation headline metric (`metrics`:
{"pckh@0.5": …} for MPII skeletons, {"pck@0.2": …} for LSP, {"oks_ap": …} for COCO-format
data; `headline_metric`). Saves are asynchronous. The config travels with each step, so a
step can be restored from its path alone. grain is imported only where a data iterator is
saved or restored, so prediction never loads it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from typing import TYPE_CHECKING, Any, Callable

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from etils import epath

from msposejax import library_internals as li
from msposejax.state import retention
from msposejax.state.damage import DamagedCheckpointError, damage_error
from msposejax.state.full_disk import (CheckpointSaveError, DropFullDiskRecords,  # noqa: F401
                                       no_space)
from msposejax.state.variables import check_same_arrays

if TYPE_CHECKING:
  import grain.python as grain

CHECKPOINT_DIR = "checkpoints"


def as_path(path: str | os.PathLike) -> epath.Path:
  """Local paths made absolute; gs:// and other URLs kept as they are (TPU workdirs)."""
  path = str(path)
  return epath.Path(path if "://" in path else os.path.abspath(os.path.expanduser(path)))


class Checkpointer:
  """The checkpoints of one workdir: open, resume, save, restore, close (a context manager).

  Every read of a step names a damaged step and its bad file (DamagedCheckpointError) and a
  step the workdir does not hold (FileNotFoundError); a save the disk refuses is one
  CheckpointSaveError, wherever orbax's asynchronous write reports it.
  """

  def __init__(self, workdir: str | os.PathLike,
               config: ml_collections.ConfigDict | None = None, read_only: bool = False):
    """`config` is saved with every step (and sets how many are kept); read-only: no saves."""
    self.workdir = as_path(workdir)
    self.directory = self.workdir / CHECKPOINT_DIR
    self._config, self._read_only = config, read_only
    self._writing: int | None = None  # the step whose asynchronous save may still fail
    self._mngr = self._open()
    self._quiet = DropFullDiskRecords()  # orbax's save threads' tracebacks of a full disk
    logging.getLogger("absl").addFilter(self._quiet)

  def _open(self) -> ocp.CheckpointManager:
    return retention.manager(self.directory, self._config, self._read_only)

  def __enter__(self) -> "Checkpointer":
    return self

  def __exit__(self, *exc) -> None:
    self.close()

  def close(self) -> None:
    """Waits for a save still being written, then closes the manager."""
    try:
      self.wait_until_finished()
    finally:
      self._mngr.close()
      logging.getLogger("absl").removeFilter(self._quiet)

  def steps(self) -> list[int]:
    return sorted(self._mngr.all_steps())

  def latest_step(self) -> int | None:
    return self._mngr.latest_step()

  def metric(self, step: int) -> float | None:
    """The headline metric `step` was saved with (None: none)."""
    return retention.headline_metric(self._mngr.metrics(step))

  def best_step(self) -> int | None:
    """Step with the highest saved headline metric, or None if no step has one."""
    step = self._mngr.best_step()  # orbax ranks only the steps saved with metrics
    return step if step is not None and self.metric(step) is not None else None

  def reached_preemption(self, step: int) -> bool:
    """orbax's check for a preemption notice (multi-host: agreed by every process)."""
    return self._mngr.reached_preemption(step)

  def _read(self, step: int, read: Callable[[], Any]) -> Any:
    """`read()` of `step`, with a missing step and a damaged one named."""
    if step not in self._mngr.all_steps():  # as the manager found them when it was made
      held = ", ".join(map(str, self.steps())) or "none"
      raise FileNotFoundError(f"no step {step} in {self.workdir}; its steps are {held}")
    try:
      return read()
    except Exception as e:  # pylint: disable=broad-except  (orbax, tensorstore, OS, JSON errors)
      damage = damage_error(self.directory, step, e)
      if damage is not None:
        raise damage from e
      raise

  def saved_config(self, step: int) -> ml_collections.ConfigDict:
    """The config `step` was saved with."""
    args = ocp.args.Composite(config=ocp.args.JsonRestore())
    return ml_collections.ConfigDict(self._read(step, lambda: self._mngr.restore(
        step, args=args))["config"])

  def holds_weights_only(self, step: int) -> bool:
    """True for a `save_variables` step (no optimizer state: it cannot be resumed)."""
    tree = self._saved_tree(step)
    return isinstance(tree, dict) and "opt_state" not in tree

  def _saved_tree(self, step: int) -> Any:
    # Read from the step's files: a manager knows an item's metadata only after restoring it.
    try:
      tree = ocp.StandardCheckpointHandler().metadata(self.directory / str(step) / "state")
    except Exception:  # pylint: disable=broad-except  (damage is reported by the restore)
      return None
    return li.saved_tree(tree)

  def restore(self, step: int, abstract_state: Any,
              data_iterator: grain.PyGrainDatasetIterator | None = None) -> Any:
    """The train state of `step` onto `abstract_state`'s shardings (and the iterator's
    position, in place)."""
    items = {"state": ocp.args.StandardRestore(abstract_state)}
    if data_iterator is not None:
      import grain.python as grain
      items["data"] = grain.PyGrainCheckpointRestore(data_iterator)
    args = ocp.args.Composite(**items)
    return self._read(step, lambda: self._mngr.restore(step, args=args))["state"]

  def restore_variables(self, step: int, abstract: dict[str, Any]) -> dict[str, Any]:
    """Only {"params", "batch_stats"} of a step (full or weights-only) onto `abstract`'s
    shardings (`variables.abstract_variables`); the optimizer state is never read. Use a
    Checkpointer of its own: orbax binds an item to the kind of restore first used on it.

    Raises:
      DamagedCheckpointError: a damaged step (naming its bad file).
      ValueError: variables of another model (naming the arrays that differ).
    """
    restore_args = ocp.checkpoint_utils.construct_restore_args(abstract)
    args = ocp.args.PyTreeRestore(item=abstract, partial_restore=True, restore_args=restore_args)
    restored = self._read(step, lambda: self._mngr.restore(
        step, args=ocp.args.Composite(state=args)))["state"]
    tree = self._saved_tree(step)
    if tree is not None:  # (else the restore above would have failed)
      check_same_arrays(tree, abstract, step)
    return restored

  def resume(self, abstract_state: Any, data_iterator: grain.PyGrainDatasetIterator,
             check: Callable[[ml_collections.ConfigDict], None],
             say: Callable[[str], None]) -> Any | None:
    """The train state of the newest intact step (None: no step), the iterator set to it.

    A damaged step is named (`say`: the training's console), moved to
    WORKDIR/damaged_checkpoints/ (kept, never deleted: the run will save that step again) and
    the step before it is tried. `check` (the step's saved config) raises ValueError when the
    run cannot continue that step."""
    moved = False
    for step in reversed(self.steps()):
      try:
        saved = self.saved_config(step)
        if self.holds_weights_only(step):
          raise ValueError(f"{self.workdir} step {step} holds weights only (import-torch), no "
                           f"training to resume: train from it in a new workdir with "
                           f"--config.init_from={self.workdir}")
        check(saved)
        state = self.restore(step, abstract_state, data_iterator)
      except DamagedCheckpointError as e:
        aside = self.workdir / "damaged_checkpoints" / str(step)
        if jax.process_index() == 0:
          aside.parent.mkdir(parents=True, exist_ok=True)
          (self.directory / str(step)).rename(aside)
        say(f"{e}; moved to {aside} (kept); trying the step before it")
        moved = True
        continue
      if moved:  # the manager still lists the moved steps
        self._mngr.close()
        self._mngr = self._open()
      say(f"resumed from {self.directory / str(step)}")
      return state
    if moved:
      raise DamagedCheckpointError(
          f"no intact checkpoint in {self.directory}: every step was damaged (moved to "
          f"{self.workdir / 'damaged_checkpoints'}); start again with a new workdir")
    return None

  def save(self, state: Any, data_iterator: grain.PyGrainDatasetIterator | None = None,
           metrics: dict[str, float] | None = None, force: bool = False) -> bool:
    """Starts writing the train state (and the iterator's position) as step `state.step`,
    with its headline metric if evaluated; returns whether orbax saves it (`force`: always,
    replacing a step saved before without its metric: orbax cannot add one to a step)."""
    if force and int(state.step) in self._mngr.all_steps():
      self.wait_until_finished()
      self._mngr.delete(int(state.step))
    items = {"state": ocp.args.StandardSave(state), "config": self._config_save()}
    if data_iterator is not None:
      import grain.python as grain  # only a training saves the data iterator
      items["data"] = grain.PyGrainCheckpointSave(data_iterator)
    return self._save(int(state.step), ocp.args.Composite(**items), metrics, force)

  def save_variables(self, variables: dict[str, Any], step: int = 0) -> None:
    """A weights-only step (import-torch): state = {step, params, batch_stats}, with no
    optimizer state; predict with it, or start a training from it with `config.init_from`."""
    state = {"step": np.int32(step), "params": variables["params"],
             "batch_stats": variables["batch_stats"]}
    self._save(step, ocp.args.Composite(state=ocp.args.StandardSave(state),
                                        config=self._config_save()), None, True)

  def _config_save(self) -> ocp.args.JsonSave:
    return ocp.args.JsonSave(json.loads(self._config.to_json_best_effort()))

  def _save(self, step: int, args: ocp.args.Composite, metrics, force: bool) -> bool:
    self.wait_until_finished()  # what orbax's save does first: here a failure is named
    self._writing = step
    with self._naming_a_full_disk():
      return self._mngr.save(step, args=args, metrics=metrics, force=force)

  def wait_until_finished(self) -> None:
    """Returns once the step being written is on disk."""
    with self._naming_a_full_disk():
      self._mngr.wait_until_finished()
    self._writing = None

  @contextlib.contextmanager
  def _naming_a_full_disk(self):
    """A full disk, reported by orbax, tensorstore or the OS at this save, the next or the
    wait, becomes one CheckpointSaveError naming the step being written and the last on disk."""
    try:
      yield
    except Exception as e:  # pylint: disable=broad-except  (re-raised unless a full disk)
      reason = no_space(e)
      if reason is None:
        raise
      step, self._writing = self._writing, None
      self._mngr.reload()  # the steps on disk now
      last = max((s for s in self._mngr.all_steps() if s != step), default=None)
      raise CheckpointSaveError(f"cannot save checkpoint {step}: no space left on device "
                                f"({reason}); last checkpoint: {last}") from None


def resolve(path: str | os.PathLike, prefer_best: bool = True) -> tuple[epath.Path, int]:
  """(workdir, step) for a training workdir (best, else latest step) or a step directory."""
  path = as_path(path)
  if path.parent.name == CHECKPOINT_DIR and path.name.isdigit():
    return path.parent.parent, int(path.name)
  if not (path / CHECKPOINT_DIR).is_dir():
    raise FileNotFoundError(f"{path} is neither a training workdir (no {CHECKPOINT_DIR}/) nor "
                            f"a checkpoint step directory ({CHECKPOINT_DIR}/STEP)")
  with Checkpointer(path, read_only=True) as ckpt:
    step = (ckpt.best_step() if prefer_best else None) or ckpt.latest_step()
  if step is None:
    raise FileNotFoundError(f"{path / CHECKPOINT_DIR} holds no checkpoint")
  return path, step


def saved_config_of(path: str | os.PathLike) -> tuple[ml_collections.ConfigDict, int]:
  """(saved config, step) of a workdir's best (else latest) step or of a step directory:
  what `config.init_from` names."""
  workdir, step = resolve(path)
  with Checkpointer(workdir, read_only=True) as ckpt:
    return ckpt.saved_config(step), step
