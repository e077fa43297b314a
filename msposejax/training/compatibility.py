"""Resume policy: whether a checkpoint's saved config is of the run's model, and whether a run
with the run's settings would continue it (pure: two configs in, a ValueError naming every
difference out)."""

from __future__ import annotations

import ml_collections

from msposejax.config_checks import get_field
from msposejax.input_size import input_hw
from msposejax.models.pose_net import ADDED_FIELDS


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
      a, b = mine.get(key), theirs.get(key, ADDED_FIELDS.get(key))
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
