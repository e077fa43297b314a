"""orbax checkpoints (IO): train state + grain iterator state + config in every step.

Layout: WORKDIR/checkpoints/STEP/{state, data, config}. The manager keeps the last
`config.checkpoint.keep` steps plus the one with the best validation headline metric
(`metrics` "pckh": PCKh@0.5 for MPII skeletons, PCK@0.2 for LSP), saves asynchronously, and answers orbax's preemption check. The config travels with
each checkpoint, so a checkpoint can be restored from its path alone.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import flax.traverse_util
import grain.python as grain
import jax
import ml_collections
import orbax.checkpoint as ocp
from etils import epath
from orbax.checkpoint.checkpoint_managers import preservation_policy as pp

_log = logging.getLogger(__name__)
CHECKPOINT_DIR = "checkpoints"


def as_path(path: str | os.PathLike) -> epath.Path:
  """Local paths made absolute; gs:// and other URLs kept as they are (TPU workdirs)."""
  path = str(path)
  return epath.Path(path if "://" in path else os.path.abspath(os.path.expanduser(path)))


def _pckh(metrics: dict[str, float]) -> float:
  return metrics["pckh"]


def manager(workdir: str | os.PathLike, config: ml_collections.ConfigDict | None = None,
            read_only: bool = False) -> ocp.CheckpointManager:
  keep = config.checkpoint.keep if config is not None else 3
  policy = pp.AnyPreservationPolicy([
      pp.LatestN(keep),
      pp.BestN(get_metric_fn=_pckh, n=1, keep_checkpoints_without_metrics=False),
  ])
  # best_fn makes orbax write each step's metrics (without it they are silently dropped and
  # BestN has nothing to rank); the preservation policy decides what is kept.
  options = ocp.CheckpointManagerOptions(preservation_policy=policy, best_fn=_pckh,
                                         best_mode="max", create=not read_only,
                                         read_only=read_only, enable_async_checkpointing=True)
  return ocp.CheckpointManager(as_path(workdir) / CHECKPOINT_DIR, options=options)


def save(mngr: ocp.CheckpointManager, state: Any, config: ml_collections.ConfigDict,
         data_iterator: grain.PyGrainDatasetIterator | None = None,
         metrics: dict[str, float] | None = None, force: bool = False) -> bool:
  items = {"state": ocp.args.StandardSave(state),
           "config": ocp.args.JsonSave(json.loads(config.to_json_best_effort()))}
  if data_iterator is not None:
    items["data"] = grain.PyGrainCheckpointSave(data_iterator)
  return mngr.save(int(state.step), args=ocp.args.Composite(**items), metrics=metrics,
                   force=force)


def saved_config(mngr: ocp.CheckpointManager, step: int) -> ml_collections.ConfigDict:
  restored = mngr.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))
  return ml_collections.ConfigDict(restored["config"])


# Model fields added after checkpoints were first written: a checkpoint without one has the
# value given here.
_ADDED_MODEL_FIELDS = {"msr_residual": False}


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
  if saved.get("input_size") != config.input_size:
    diffs.append(f"input_size: checkpoint {saved.get('input_size')!r} vs config "
                 f"{config.input_size!r}")
  if diffs:
    raise ValueError(f"{where} holds a checkpoint of another model ({'; '.join(diffs)}); use "
                     "a new workdir, or config.init_from to start from it")


def restore(mngr: ocp.CheckpointManager, step: int, abstract_state: Any,
            data_iterator: grain.PyGrainDatasetIterator | None = None) -> Any:
  """Restores the state onto `abstract_state`'s shardings (and the iterator in place)."""
  items = {"state": ocp.args.StandardRestore(abstract_state)}
  if data_iterator is not None:
    items["data"] = grain.PyGrainCheckpointRestore(data_iterator)
  return mngr.restore(step, args=ocp.args.Composite(**items))["state"]


def best_step(mngr: ocp.CheckpointManager) -> int | None:
  """Step with the highest saved "pckh" metric, or None if no step has one."""
  best = None
  for info in mngr._checkpoints:  # pylint: disable=protected-access
    pckh = (info.metrics or {}).get("pckh")
    if pckh is not None and (best is None or pckh > best[0]):
      best = (pckh, info.step)
  return None if best is None else best[1]


def resolve(path: str | os.PathLike, prefer_best: bool = True) -> tuple[epath.Path, int]:
  """(workdir, step) for a training workdir (best, else latest step) or a step directory."""
  path = as_path(path)
  if path.parent.name == CHECKPOINT_DIR and path.name.isdigit():
    return path.parent.parent, int(path.name)
  if not (path / CHECKPOINT_DIR).is_dir():
    raise FileNotFoundError(f"{path} is neither a training workdir (no {CHECKPOINT_DIR}/) nor "
                            f"a checkpoint step directory ({CHECKPOINT_DIR}/STEP)")
  mngr = manager(path, read_only=True)
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
  src = saved_config(manager(src_dir, read_only=True), step)
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
