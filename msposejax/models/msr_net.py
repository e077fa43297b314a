"""Multi-scale regression network (MSR-net, docs/method.md §2): all scales → final heatmaps."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from msposejax.models.hourglass import Hourglass
from msposejax.models.layers import HEATMAP_INIT, Conv, Dtype, Residual

UPSAMPLE_METHODS = ("bilinear", "nearest")


def upsample_heatmaps(heatmaps: dict[int, jax.Array], size: int, method: str) -> jax.Array:
  """Resize every (B, r, r, K) map to (B, size, size, K) and concatenate: (B, size, size, nK).

  Resizing uses half-pixel centres, the same convention as `codecs.heatmap`, so a peak at
  resolution r lands where the keypoint is at resolution `size`.
  """
  if method not in UPSAMPLE_METHODS:
    raise ValueError(f"msr upsample method {method!r} is not one of {UPSAMPLE_METHODS}")
  resized = []
  for res in sorted(heatmaps):
    h = heatmaps[res]
    if res != size:
      b, _, _, k = h.shape
      h = jax.image.resize(h, (b, size, size, k), "linear" if method == "bilinear" else "nearest")
    resized.append(h)
  return jnp.concatenate(resized, axis=-1)


class MSRNet(nn.Module):
  """concat(upsampled multi-scale heatmaps, last-stack features) → conv1×1(C) → hourglass →
  Residual → conv1×1-BN-ReLU → conv1×1(K).

  Attributes:
    depth: hourglass depth.
    features: channels C.
    num_joints: K.
    upsample: "bilinear" or "nearest" resizing of coarse heatmaps to full resolution.
    dtype: computation dtype.

  `__call__(heatmaps, features, train)`: heatmaps {r: (B, r, r, K)}, features (B, H, W, C);
  returns the final heatmaps (B, H, W, K) in float32.
  """
  depth: int
  features: int
  num_joints: int
  upsample: str = "bilinear"
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, heatmaps: dict[int, jax.Array], features: jax.Array,
               train: bool = False) -> jax.Array:
    size = features.shape[1]
    fused = upsample_heatmaps(heatmaps, size, self.upsample).astype(self.dtype)
    x = jnp.concatenate([fused, features.astype(self.dtype)], axis=-1)
    x = Conv(self.features, 1, relu=False, dtype=self.dtype, name="fuse")(x)
    x, _ = Hourglass(self.depth, self.features, self.dtype, name="hg")(x, train)
    x = Residual(self.features, self.dtype, name="features_res")(x, train)
    x = Conv(self.features, 1, bn=True, relu=True, dtype=self.dtype, name="features_conv")(x, train)
    out = Conv(self.num_joints, 1, relu=False, dtype=self.dtype, kernel_init=HEATMAP_INIT,
               name="out")(x)
    return out.astype(jnp.float32)
