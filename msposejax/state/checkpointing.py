"""orbax checkpoints (IO): train state + grain iterator state + config in every training step;
weights and config in an import-torch step (`save_variables`).

grain is imported only where a data iterator is saved or restored, so prediction never
loads it.

Layout: WORKDIR/checkpoints/STEP/{state, data, config}. The manager keeps the last
`config.checkpoint.keep` steps plus the one with the best validation headline metric
(`metrics`: {"pckh@0.5": …} for MPII skeletons, {"pck@0.2": …} for LSP, {"oks_ap": …} for
COCO-format data; `headline_metric`), saves asynchronously, and
answers orbax's preemption check. The config travels with each checkpoint, so a checkpoint
can be restored from its path alone.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any

import flax.traverse_util
import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from etils import epath
from orbax.checkpoint.checkpoint_managers import preservation_policy as pp

from msposejax.config_checks import get_field
from msposejax.input_size import input_hw

if TYPE_CHECKING:
  import grain.python as grain

CHECKPOINT_DIR = "checkpoints"


def as_path(path: str | os.PathLike) -> epath.Path:
  """Local paths made absolute; gs:// and other URLs kept as they are (TPU workdirs)."""
  path = str(path)
  return epath.Path(path if "://" in path else os.path.abspath(os.path.expanduser(path)))


def headline_metric(metrics: dict[str, float] | None) -> float | None:
  """The one validation number a step was saved with, named for what it holds ("pckh@0.5",
  "pck@0.2", "oks_ap"; "pckh" in checkpoints of before 2026-12-06, whatever it held); None
  when the step has none."""
  if not metrics:
    return None
  if len(metrics) != 1:
    raise ValueError(f"checkpoint metrics {sorted(metrics)}: expected one headline metric")
  return float(next(iter(metrics.values())))


def _rank(metrics: dict[str, float] | None) -> float:
  value = headline_metric(metrics)
  return float("-inf") if value is None or value != value else value  # NaN ranks last


def manager(workdir: str | os.PathLike, config: ml_collections.ConfigDict | None = None,
            read_only: bool = False) -> ocp.CheckpointManager:
  keep = config.checkpoint.keep if config is not None else 3
  policy = pp.AnyPreservationPolicy([
      pp.LatestN(keep),
      pp.BestN(get_metric_fn=_rank, n=1, keep_checkpoints_without_metrics=False),
  ])
  # best_fn makes orbax write each step's metrics (without it they are silently dropped and
  # BestN has nothing to rank); the preservation policy decides what is kept.
  options = ocp.CheckpointManagerOptions(preservation_policy=policy, best_fn=_rank,
                                         best_mode="max", create=not read_only,
                                         read_only=read_only, enable_async_checkpointing=True)
  return ocp.CheckpointManager(as_path(workdir) / CHECKPOINT_DIR, options=options)


def _config_save(config: ml_collections.ConfigDict) -> ocp.args.JsonSave:
  return ocp.args.JsonSave(json.loads(config.to_json_best_effort()))


def save(mngr: ocp.CheckpointManager, state: Any, config: ml_collections.ConfigDict,
         data_iterator: grain.PyGrainDatasetIterator | None = None,
         metrics: dict[str, float] | None = None, force: bool = False) -> bool:
  items = {"state": ocp.args.StandardSave(state), "config": _config_save(config)}
  if data_iterator is not None:
    import grain.python as grain  # only a training saves the data iterator
    items["data"] = grain.PyGrainCheckpointSave(data_iterator)
  return mngr.save(int(state.step), args=ocp.args.Composite(**items), metrics=metrics,
                   force=force)


def resave_with_metrics(mngr: ocp.CheckpointManager, state: Any,
                        config: ml_collections.ConfigDict, data_iterator: Any,
                        metrics: dict[str, float]) -> None:
  """Saves the step again with its evaluation metrics (orbax cannot add metrics to a saved
  step): the final step is first saved without them, so a failing evaluation loses nothing."""
  step = int(state.step)
  if step in mngr.all_steps():
    mngr.delete(step)
  save(mngr, state, config, data_iterator, metrics=metrics, force=True)
  mngr.wait_until_finished()


def saved_config(mngr: ocp.CheckpointManager, step: int) -> ml_collections.ConfigDict:
  restored = mngr.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))
  return ml_collections.ConfigDict(restored["config"])


# Model fields added after checkpoints were first written: a checkpoint without one has the
# value given here.
_ADDED_MODEL_FIELDS = {"msr_residual": False}


def _same_input_size(saved, mine) -> bool:
  """Whether a saved config's input_size (JSON: n or [H, W]) is the config's (n or (H, W)):
  compared as (H, W), so 256 and [256, 256] agree, and a missing or unreadable saved value
  agrees with nothing."""
  try:
    return input_hw(saved) == input_hw(mine)
  except ValueError:
    return False


def check_same_model(saved: ml_collections.ConfigDict, config: ml_collections.ConfigDict,
                     where: str) -> None:
  """Raises ValueError naming each model/input field in which two configs differ."""
  diffs = []
  for section in ("model",):
    mine, theirs = config[section].to_dict(), saved[section].to_dict()
    for key in sorted(set(mine) | set(theirs)):
      a, b = mine.get(key), theirs.get(key, _ADDED_MODEL_FIELDS.get(key))
      if key != "remat" and key != "dtype" and (list(a) if isinstance(a, tuple) else a) != b:
        diffs.append(f"{section}.{key}: checkpoint {b!r} vs config {a!r}")
  if not _same_input_size(saved.get("input_size"), config.input_size):
    diffs.append(f"input_size: checkpoint {saved.get('input_size')!r} vs config "
                 f"{config.input_size!r}")
  if diffs:
    raise ValueError(f"{where} holds a checkpoint of another model ({'; '.join(diffs)}); use "
                     "a new workdir, or config.init_from to start from it")


# Settings a resumed run must share with its checkpoint: they fix the optimizer state's shape
# or the data order, so a change would not continue the run (or fail deep inside orbax).
_RESUME_FIELDS = ("seed", "batch_size", "optimizer.name", "data.dataset", "data.train_split",
                  "data.stream_start")


def check_resumable(saved: ml_collections.ConfigDict, config: ml_collections.ConfigDict,
                    where: str) -> None:
  """Raises ValueError naming each training setting that differs from the checkpoint's."""
  pairs = {f: (get_field(saved, f), get_field(config, f))
           for f in (*_RESUME_FIELDS, "optimizer.grad_clip")}
  diffs = [f"{f}: checkpoint {a!r} vs config {b!r}" for f, (a, b) in pairs.items()
           if f in _RESUME_FIELDS and a is not None and a != b]
  a, b = pairs["optimizer.grad_clip"]
  if bool(a) != bool(b):
    diffs.append(f"optimizer.grad_clip: checkpoint {a!r} vs config {b!r} (clipping on/off)")
  if diffs:
    raise ValueError(f"{where} holds a run with other training settings ({'; '.join(diffs)}); "
                     "resuming would not continue it: use a new workdir, or config.init_from "
                     "to start from it")


def restore(mngr: ocp.CheckpointManager, step: int, abstract_state: Any,
            data_iterator: grain.PyGrainDatasetIterator | None = None) -> Any:
  """Restores the state onto `abstract_state`'s shardings (and the iterator in place)."""
  items = {"state": ocp.args.StandardRestore(abstract_state)}
  if data_iterator is not None:
    import grain.python as grain
    items["data"] = grain.PyGrainCheckpointRestore(data_iterator)
  return mngr.restore(step, args=ocp.args.Composite(**items))["state"]


def save_variables(mngr: ocp.CheckpointManager, variables: dict[str, Any],
                   config: ml_collections.ConfigDict, step: int = 0) -> None:
  """A weights-only checkpoint (import-torch): state = {step, params, batch_stats}, with no
  optimizer state; predict with it, or start a training from it with `config.init_from`."""
  state = {"step": np.int32(step), "params": variables["params"],
           "batch_stats": variables["batch_stats"]}
  mngr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                           config=_config_save(config)), force=True)


def holds_weights_only(mngr: ocp.CheckpointManager, step: int) -> bool:
  """True for a `save_variables` checkpoint (no optimizer state: it cannot be resumed)."""
  # Read from the step's files: a manager knows an item's metadata only after restoring it.
  try:
    tree = ocp.StandardCheckpointHandler().metadata(mngr.directory / str(step) / "state")
  except Exception:  # pylint: disable=broad-except  (damage is reported by the restore)
    return False
  tree = getattr(tree, "tree", tree)
  return isinstance(tree, dict) and "opt_state" not in tree


def restore_variables(mngr: ocp.CheckpointManager, step: int, abstract: dict[str, Any]
                      ) -> dict[str, Any]:
  """Only {"params", "batch_stats"} of a step (full or weights-only) onto `abstract`'s
  shardings (`variables.abstract_variables`); the optimizer state is never read. Use a
  manager of its own (`manager(..., read_only=True)`): orbax binds an item to the kind of
  restore first used on it.

  Raises:
    DamagedCheckpointError: a damaged step (naming its bad file).
    ValueError: variables of another model.
  """
  args = ocp.args.PyTreeRestore(item=abstract, partial_restore=True,
                                restore_args=ocp.checkpoint_utils.construct_restore_args(abstract))
  try:
    restored = mngr.restore(step, args=ocp.args.Composite(state=args))["state"]
  except Exception as e:  # pylint: disable=broad-except  (orbax, tensorstore, OS, JSON errors)
    _raise_if_damaged(mngr, step, e)
    raise
  _check_same_arrays(mngr, step, abstract)
  return restored


def _check_same_arrays(mngr: ocp.CheckpointManager, step: int, abstract: dict[str, Any]
                       ) -> None:
  """A partial restore drops arrays the model lacks without a word: the step's arrays and
  the model's must be the same set (a config edited to `msr=false` beside MSR-net's arrays
  changed the keypoints silently)."""
  try:
    tree = ocp.StandardCheckpointHandler().metadata(mngr.directory / str(step) / "state")
  except Exception:  # pylint: disable=broad-except  (the restore above read it)
    return
  tree = getattr(tree, "tree", tree)
  names = lambda t: {"/".join(map(str, k)) for part in ("params", "batch_stats")
                     for k in flax.traverse_util.flatten_dict({part: t.get(part, {})})}
  saved, wanted = names(tree), names(abstract)
  extra, missing = sorted(saved - wanted), sorted(wanted - saved)
  if extra or missing:
    first = lambda v: f"{', '.join(v[:2])}{', …' if len(v) > 2 else ''}"
    what = "; ".join(text for text in (
        extra and f"step {step} holds {len(extra)} arrays the model has not ({first(extra)})",
        missing and f"step {step} lacks {len(missing)} arrays of the model "
                    f"({first(missing)})") if text)
    raise ValueError(what)


class DamagedCheckpointError(ValueError):
  """A checkpoint step that cannot be read; the message names the step and the bad file."""


_ITEMS = ("state", "config")  # written by every save (data/ only with an iterator)


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
    if path.stat().length == 0 and path.name != "commit_success.txt":
      return f"{path.relative_to(step_dir)} is empty"
  for path in files:
    if "metadata" in path.name.lower() or path.suffix == ".json":
      try:
        json.loads(path.read_text())
      except (ValueError, UnicodeDecodeError):
        return f"{path.relative_to(step_dir)} is not valid JSON"
  state = step_dir / "state"
  for name in ("_METADATA", "manifest.ocdbt"):  # without them orbax reads an empty tree
    if not (state / name).exists():
      return f"state/{name} is missing"
  errors = list(_chain(error))
  for e in errors:  # a file named by its path in an error, and gone (data/process_0-of-1.json)
    for named in re.findall(re.escape(str(step_dir)) + r"/[^\s'\",:]+", str(e)):
      if not epath.Path(named.rstrip(".")).exists():
        return f"{epath.Path(named.rstrip('.')).relative_to(step_dir)} is missing"
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


def restore_checked(mngr: ocp.CheckpointManager, step: int, abstract_state: Any,
                    data_iterator: grain.PyGrainDatasetIterator | None = None) -> Any:
  """`restore`, but a damaged step raises DamagedCheckpointError naming it and its bad file."""
  try:
    return restore(mngr, step, abstract_state, data_iterator)
  except Exception as e:  # pylint: disable=broad-except  (orbax, tensorstore, OS, JSON errors)
    _raise_if_damaged(mngr, step, e)
    raise


def saved_config_checked(mngr: ocp.CheckpointManager, step: int) -> ml_collections.ConfigDict:
  """`saved_config`, but a damaged step raises DamagedCheckpointError naming the bad file,
  and a step the workdir does not hold FileNotFoundError naming the steps it holds."""
  check_step_exists(mngr, step)
  try:
    return saved_config(mngr, step)
  except Exception as e:  # pylint: disable=broad-except
    _raise_if_damaged(mngr, step, e)
    raise


def check_step_exists(mngr: ocp.CheckpointManager, step: int) -> None:
  """Raises FileNotFoundError when `step` is not a step of `mngr`'s directory (e.g. a typo in
  `--step`): an absent step is not a damaged one. A damaged step's folder still counts."""
  steps = sorted(mngr.all_steps())  # as the manager found them when it was made
  if step not in steps:
    workdir = as_path(mngr.directory).parent
    held = ", ".join(map(str, steps)) if steps else "none"
    raise FileNotFoundError(f"no step {step} in {workdir}; its steps are {held}")


def _raise_if_damaged(mngr: ocp.CheckpointManager, step: int, error: Exception) -> None:
  damage = describe_damage(mngr.directory / str(step), error)
  if damage:
    raise DamagedCheckpointError(
        f"checkpoint step {step} in {mngr.directory} is damaged: {damage}") from error


def best_step(mngr: ocp.CheckpointManager) -> int | None:
  """Step with the highest saved headline metric, or None if no step has one."""
  step = mngr.best_step()  # orbax ranks only the steps saved with metrics
  if step is None or headline_metric(mngr.metrics(step)) is None:
    return None
  return step


def resolve(path: str | os.PathLike, prefer_best: bool = True) -> tuple[epath.Path, int]:
  """(workdir, step) for a training workdir (best, else latest step) or a step directory."""
  path = as_path(path)
  if path.parent.name == CHECKPOINT_DIR and path.name.isdigit():
    return path.parent.parent, int(path.name)
  if not (path / CHECKPOINT_DIR).is_dir():
    raise FileNotFoundError(f"{path} is neither a training workdir (no {CHECKPOINT_DIR}/) nor "
                            f"a checkpoint step directory ({CHECKPOINT_DIR}/STEP)")
  with manager(path, read_only=True) as mngr:
    step = (best_step(mngr) if prefer_best else None) or mngr.latest_step()
  if step is None:
    raise FileNotFoundError(f"{path / CHECKPOINT_DIR} holds no checkpoint")
  return path, step


def stream_start(config: ml_collections.ConfigDict) -> int:
  """Examples of the training stream a run skips (`config.data.stream_start`, resolved).

  -1 (the default) means: none for a run from scratch, and for a run with `init_from` all
  that its source drew, its own ancestors' included, so every stage of a staged recipe sees
  new examples with new augmentations, exactly those a single run of the same total length
  would have drawn next.
  """
  start = int(config.data.stream_start)
  if start >= 0:
    return start
  if not config.init_from:
    return 0
  src_dir, step = resolve(config.init_from)
  with manager(src_dir, read_only=True) as mngr:
    src = saved_config(mngr, step)
  before = max(int(src.get("data", {}).get("stream_start", 0)), 0)  # older checkpoints: 0
  return before + step * int(src.batch_size)


def load_partial(target: dict, source: dict) -> tuple[dict, list[str], list[str]]:
  """Copies every `source` leaf whose path and shape match into `target`.

  Returns (merged, loaded paths, new paths). Used by `config.init_from` (a stage-1 MSS
  checkpoint initialising the stage-2 MSS+MSR model: the MSR-net is new).
  """
  flat_t = flax.traverse_util.flatten_dict(target, sep="/")
  flat_s = flax.traverse_util.flatten_dict(source, sep="/")
  loaded, new = [], []
  for key, value in flat_t.items():
    if key in flat_s and flat_s[key].shape == value.shape:
      flat_t[key] = jax.device_put(flat_s[key], value.sharding) if hasattr(value, "sharding") \
          else flat_s[key]
      loaded.append(key)
    else:
      new.append(key)
  return flax.traverse_util.unflatten_dict(flat_t, sep="/"), loaded, new
