"""Validation of a config's fields, so a bad value fails in one line before anything is built."""

from __future__ import annotations

import ml_collections

from msposejax import skeleton
from msposejax.codecs.decode import DECODE_METHODS
from msposejax.input_size import input_hw
from msposejax.losses.total import LOSS_KINDS
from msposejax.models.msr_net import UPSAMPLE_METHODS
from msposejax.models.pose_net import ADDED_FIELDS, DTYPES


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Raises ValueError naming the first field whose value is not allowed."""
  choices = {
      "model.dtype": (config.model.dtype, tuple(DTYPES)),
      "model.msr_upsample": (config.model.msr_upsample, UPSAMPLE_METHODS),
      "loss.intermediate": (config.loss.intermediate, LOSS_KINDS),
      "loss.final": (config.loss.final, LOSS_KINDS),
      "decode.method": (config.decode.method, DECODE_METHODS),
  }
  for field, (value, allowed) in choices.items():
    if value not in allowed:
      raise ValueError(f"config.{field}={value!r} is not one of {list(allowed)}")
  for field in ("num_stacks", "features", "depth", "num_joints"):
    if int(config.model[field]) < 1:
      raise ValueError(f"config.model.{field} must be ≥ 1, got {config.model[field]}")
  skeleton.check_num_joints(config)
  try:
    h, w = input_hw(config.input_size)
  except ValueError as e:
    raise ValueError(f"config.{e}") from None
  multiple = 4 * 2 ** config.model.depth
  if h % multiple or w % multiple:
    what = "a multiple" if h == w else "(H, W), each a multiple"
    raise ValueError(f"config.input_size={config.input_size} must be {what} of {multiple} "
                     f"for an hourglass of depth {config.model.depth}")
  scales = config.model.depth if config.model.mss else 1
  for field in ("targets.sigma_per_scale", "loss.scale_weights"):
    section, name = field.split(".")
    if len(config[section][name]) < scales:
      raise ValueError(f"config.{field} has {len(config[section][name])} entries; the model "
                       f"predicts {scales} resolution(s)")
  _check_ranges(config)


def get_field(config: ml_collections.ConfigDict, field: str):
  """config["a"]["b"] for "a.b", or None where a saved config lacks the field."""
  node = config
  for part in field.split("."):
    node = node.get(part) if hasattr(node, "get") else None
    if node is None:
      return None  # a field older saved configs do not have
  return node


# field → (test, what it must be). Fields where 0 means "off" say so.
_RANGES = {
    "total_steps": (lambda v: v >= 1, "≥ 1"),
    "batch_size": (lambda v: v >= 1, "≥ 1"),
    "eval_batch_size": (lambda v: v >= 1, "≥ 1"),
    "log_every": (lambda v: v >= 0, "≥ 0 (0 = only at the end)"),
    "eval_every": (lambda v: v >= 0, "≥ 0 (0 = only at the end)"),
    "eval_num_examples": (lambda v: v >= 0, "≥ 0 (0 = the whole split)"),
    "num_visualize": (lambda v: v >= 0, "≥ 0"),
    "checkpoint.every": (lambda v: v >= 0, "≥ 0 (0 = only at the end and on SIGTERM)"),
    "checkpoint.keep": (lambda v: v >= 1, "≥ 1"),
    "optimizer.learning_rate": (lambda v: v > 0, "> 0"),
    "optimizer.warmup_steps": (lambda v: v >= 0, "≥ 0"),
    "optimizer.decay_factor": (lambda v: v > 0, "> 0"),
    "optimizer.weight_decay": (lambda v: v >= 0, "≥ 0"),
    "optimizer.grad_clip": (lambda v: v >= 0, "≥ 0 (0 = off)"),
    "optimizer.base_batch_size": (lambda v: v >= 0, "≥ 0 (0 = no scaling)"),
    "loss.structure_alpha": (lambda v: v >= 0, "≥ 0"),
    "loss.msr_weight": (lambda v: v >= 0, "≥ 0"),
    "data.scale_factor": (lambda v: v > 0, "> 0"),
    "data.worker_count": (lambda v: v >= 0, "≥ 0 (0 = in-process)"),
    "data.stream_start": (lambda v: v >= -1, "≥ -1 (-1 = after init_from's examples)"),
    "data.augment.scale_min": (lambda v: v > 0, "> 0"),
    "data.augment.rotation_prob": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "data.augment.flip_prob": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "data.mask.prob": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "data.mask.size": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "data.mask.occlude_ratio": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "video.min_cutoff": (lambda v: v > 0, "> 0 (Hz)"),
    "video.beta": (lambda v: v >= 0, "≥ 0"),
    "video.d_cutoff": (lambda v: v > 0, "> 0 (Hz)"),
    "video.min_score": (lambda v: v >= 0, "≥ 0"),
    "video.min_joints": (lambda v: v >= 1, "≥ 1"),
    "video.fps": (lambda v: v > 0, "> 0"),
    "video.max_change": (lambda v: v >= 1, "≥ 1"),
}


def _check_ranges(config: ml_collections.ConfigDict) -> None:
  for field, (ok, want) in _RANGES.items():
    v = get_field(config, field)
    if v is not None and not ok(v):
      raise ValueError(f"config.{field}={v!r} must be {want}")
  lo, hi = get_field(config, "data.augment.scale_min"), get_field(config, "data.augment.scale_max")
  if lo is not None and hi is not None and lo > hi:
    raise ValueError(f"config.data.augment.scale_min={lo} is above scale_max={hi}")
  for field in ("targets.sigma_per_scale", "loss.scale_weights"):
    values = get_field(config, field) or ()
    if any(not v >= 0 for v in values) or (field.startswith("targets") and 0 in values):
      raise ValueError(f"config.{field}={tuple(values)} must be "
                       + ("> 0" if field.startswith("targets") else "≥ 0") + " everywhere")


def _same_input_size(saved, mine) -> bool:
  """Whether a saved config's input_size (JSON: n or [H, W]) is the config's (n or (H, W)):
  compared as (H, W), so 256 and [256, 256] agree, and a missing or unreadable saved value
  agrees with nothing."""
  try:
    return input_hw(saved) == input_hw(mine)
  except ValueError:
    return False


def check_same_model(saved: ml_collections.ConfigDict, config: ml_collections.ConfigDict,
                     where: str, advice: str = "use a new workdir, or config.init_from to start "
                     "from it") -> None:
  """Raises ValueError naming each model/input field in which a checkpoint's saved config and
  `config` differ (a field added since the checkpoint was written has its old value,
  `models.pose_net.ADDED_FIELDS`); `advice` ends the message."""
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
    raise ValueError(f"{where} holds a checkpoint of another model ({'; '.join(diffs)}); "
                     f"{advice}")
