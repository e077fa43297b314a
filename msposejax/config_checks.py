"""Validation of a config's choice fields, so a bad value fails before anything is built."""

from __future__ import annotations

import ml_collections

from msposejax import skeleton
from msposejax.codecs.decode import DECODE_METHODS
from msposejax.losses.total import LOSS_KINDS
from msposejax.models.msr_net import UPSAMPLE_METHODS
from msposejax.models.pose_net import DTYPES


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
  multiple = 4 * 2 ** config.model.depth
  if config.input_size % multiple:
    raise ValueError(f"config.input_size={config.input_size} must be a multiple of {multiple} "
                     f"for an hourglass of depth {config.model.depth}")
  scales = config.model.depth if config.model.mss else 1
  for field in ("targets.sigma_per_scale", "loss.scale_weights"):
    section, name = field.split(".")
    if len(config[section][name]) < scales:
      raise ValueError(f"config.{field} has {len(config[section][name])} entries; the model "
                       f"predicts {scales} resolution(s)")
