"""PoseNet: stem → N hourglass stacks (+ MSS heads) (+ MSR-net), built from `config.model`."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from msposejax.models.layers import Conv, Dtype, Residual, max_pool2
from msposejax.models.msr_net import MSRNet
from msposejax.models.hourglass_stack import HourglassStack

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


class PoseNet(nn.Module):
  """The multi-scale structure-aware network; with mss=msr=False exactly Newell's hourglass.

  Attributes:
    num_stacks: hourglass stacks N.
    features: channels C of the hourglasses (256 in the paper).
    depth: hourglass depth (4: 64 → 4 px).
    num_joints: K.
    mss: multi-scale supervision heads on every stack.
    msr: multi-scale regression network after the last stack.
    msr_upsample: "bilinear" or "nearest" for MSR-net's resizing of coarse heatmaps.
    msr_residual: final = the last stack's full-resolution heatmaps + MSR-net's output (a
      correction that starts near zero), instead of MSR-net's output alone, so a stage that
      adds MSR-net to a trained MSS model starts from what that model already predicts.
    stem_features: channels of the stem's 7×7 conv and of its residuals before the last
      (Newell: 64, 128); smaller values make cheap models for CPU runs.
    remat: rematerialise each stack in the backward pass (memory for compute).
    dtype: computation dtype; parameters and returned heatmaps are float32.

  `__call__(images, train)`:
    images: (B, H, W, 3) float in [0, 1]; H and W divisible by 4·2^depth.
    Returns {"stacks": tuple over stacks of {resolution r: (B, r, r·W/H, K)} keyed by each
             map's height r (H/4, H/8, …),
             "final": (B, H/4, W/4, K)} where final is MSR-net's output (plus the last
    stack's full-resolution heatmaps with msr_residual), or those heatmaps when msr is off.
  """
  num_stacks: int = 8
  features: int = 256
  depth: int = 4
  num_joints: int = 16
  mss: bool = True
  msr: bool = True
  msr_upsample: str = "bilinear"
  msr_residual: bool = False
  stem_features: tuple[int, int] = (64, 128)
  remat: bool = False
  dtype: Dtype = jnp.float32

  def _check_input(self, images: jax.Array) -> None:
    if images.ndim != 4 or images.shape[-1] != 3:
      raise ValueError(f"PoseNet expects images of shape (B, H, W, 3), got {images.shape}")
    multiple = 4 * 2 ** self.depth
    if images.shape[1] % multiple or images.shape[2] % multiple:
      raise ValueError(f"PoseNet with depth {self.depth} needs H and W divisible by {multiple}, "
                       f"got {images.shape[1]}×{images.shape[2]}")
    if not jnp.issubdtype(images.dtype, jnp.floating):
      raise ValueError(f"PoseNet expects float images in [0, 1], got dtype {images.dtype}")

  @nn.compact
  def __call__(self, images: jax.Array, train: bool = False) -> dict[str, Any]:
    self._check_input(images)
    x = images.astype(self.dtype)
    # Stem, princeton-vl's `pre`: 256 → 128 → 64 px.
    c1, c2 = self.stem_features
    x = Conv(c1, 7, 2, bn=True, relu=True, dtype=self.dtype, name="pre_conv")(x, train)
    x = Residual(c2, self.dtype, name="pre_res1")(x, train)
    x = max_pool2(x)
    x = Residual(c2, self.dtype, name="pre_res2")(x, train)
    x = Residual(self.features, self.dtype, name="pre_res3")(x, train)

    stack_cls = nn.remat(HourglassStack, static_argnums=(2,)) if self.remat else HourglassStack
    stacks = []
    feat = x
    for i in range(self.num_stacks):
      stack = stack_cls(self.depth, self.features, self.num_joints, self.mss,
                        is_last=i == self.num_stacks - 1, dtype=self.dtype, name=f"stack{i}")
      x, heatmaps, feat = stack(x, train)
      stacks.append(heatmaps)

    last = stacks[-1][max(stacks[-1])]
    if self.msr:
      final = MSRNet(self.depth, self.features, self.num_joints, self.msr_upsample,
                     self.dtype, name="msr")(stacks[-1], feat, train)
      if self.msr_residual:
        final = last + final
    else:
      final = last
    return {"stacks": tuple(stacks), "final": final}


# `config.model`'s fields.
MODEL_FIELDS = ("num_stacks", "features", "depth", "num_joints", "mss", "msr", "msr_upsample",
                "msr_residual", "stem_features", "remat", "dtype")
# Fields added after checkpoints were first written, and the value a saved config without one
# means (the one place for these defaults: building a model and comparing a checkpoint's
# config with a run's both read them here).
ADDED_FIELDS = {"msr_residual": False}


def pose_net_from_config(model_config: ml_collections.ConfigDict) -> PoseNet:
  """Builds PoseNet from `config.model`, with a clear error on an unknown dtype, an unknown
  field or a missing one (a config file's typo is caught when it loads; a checkpoint's saved
  config, edited or written by another version, only here)."""
  unknown = sorted(set(model_config.keys()) - set(MODEL_FIELDS))
  missing = [f for f in MODEL_FIELDS if f not in model_config and f not in ADDED_FIELDS]
  if unknown or missing:
    raise ValueError("config.model " + "; ".join(text for text in (
        unknown and f"has unknown fields {unknown}",
        missing and f"lacks the fields {missing}") if text)
        + f" (its fields: {', '.join(MODEL_FIELDS)})")
  if model_config.dtype not in DTYPES:
    raise ValueError(f"config.model.dtype={model_config.dtype!r} is not one of {sorted(DTYPES)}")
  return PoseNet(num_stacks=model_config.num_stacks, features=model_config.features,
                 depth=model_config.depth, num_joints=model_config.num_joints,
                 mss=model_config.mss, msr=model_config.msr,
                 msr_upsample=model_config.msr_upsample,
                 msr_residual=bool(model_config.get("msr_residual",
                                                    ADDED_FIELDS["msr_residual"])),
                 stem_features=tuple(model_config.stem_features), remat=model_config.remat,
                 dtype=DTYPES[model_config.dtype])
