"""One hourglass stack: Newell's head, plus the MSS-net heads (docs/method.md §2)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from msposejax.models.hourglass import Hourglass
from msposejax.models.layers import HEATMAP_INIT, Conv, Dtype, Residual


class HourglassStack(nn.Module):
  """Hourglass → Newell's head, plus a 1×1 heatmap head at every coarser decoder resolution.

  Attributes:
    depth: hourglass depth.
    features: channels C.
    num_joints: heatmap channels K.
    mss: add the multi-scale heads (off: exactly one Newell stack).
    is_last: the last stack has no merge convolutions into a next stack.
    dtype: computation dtype; heatmaps are returned in float32.

  Returns from `__call__(x, train)` with x (B, H, W, C):
    next_x: (B, H, W, C) input of the next stack (x itself for the last stack).
    heatmaps: {resolution r: (B, r, r·W/H, K)}, keyed by the map's height; resolution H
      (Newell's head) always, and H/2, …, H/2^(depth−1) when `mss`.
    features: (B, H, W, C) the stack's head features (input of MSR-net).
  """
  depth: int
  features: int
  num_joints: int
  mss: bool
  is_last: bool
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False
               ) -> tuple[jax.Array, dict[int, jax.Array], jax.Array]:
    hg, decoder = Hourglass(self.depth, self.features, self.dtype, name="hg")(x, train)
    feat = Residual(self.features, self.dtype, name="features_res")(hg, train)
    feat = Conv(self.features, 1, bn=True, relu=True, dtype=self.dtype, name="features_conv")(
        feat, train)
    preds = Conv(self.num_joints, 1, relu=False, dtype=self.dtype, kernel_init=HEATMAP_INIT,
                 name="out")(feat)
    heatmaps = {preds.shape[1]: preds.astype(jnp.float32)}
    if self.mss:
      for res in sorted(decoder):
        if res != preds.shape[1]:
          head = Conv(self.num_joints, 1, relu=False, dtype=self.dtype,
                      kernel_init=HEATMAP_INIT, name=f"mss_head_r{res}")
          heatmaps[res] = head(decoder[res]).astype(jnp.float32)
    if not self.is_last:
      x = (x + Conv(self.features, 1, relu=False, dtype=self.dtype, name="merge_preds")(preds)
           + Conv(self.features, 1, relu=False, dtype=self.dtype, name="merge_features")(feat))
    return x, dict(sorted(heatmaps.items())), feat
