"""Multi-scale regression network (MSR-net, docs/method.md §2): all resolutions → final maps."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from msposejax.models.hourglass import Hourglass
from msposejax.models.layers import HEATMAP_INIT, Conv, Dtype, Residual

UPSAMPLE_METHODS = ("bilinear", "nearest")


def resize_matrix(n_in: int, n_out: int, method: str) -> np.ndarray:
  """(n_out, n_in) float32 weights of 1-D resizing with half-pixel centres, as
  `jax.image.resize` computes them ("bilinear": its "linear", the triangle kernel with the
  weights renormalised at the borders; "nearest": input index ⌊(i + ½)·n_in/n_out⌋).
  """
  out = np.arange(n_out, dtype=np.float64)
  if method == "nearest":
    w = np.zeros((n_out, n_in))
    w[np.arange(n_out), np.floor((out + 0.5) * n_in / n_out).astype(int)] = 1.0
    return w.astype(np.float32)
  sample = (out + 0.5) * n_in / n_out - 0.5
  w = np.maximum(0.0, 1.0 - np.abs(sample[:, None] - np.arange(n_in)[None, :]))
  return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def upsample_heatmaps(heatmaps: dict[int, jax.Array], size: int | tuple[int, int], method: str
                      ) -> jax.Array:
  """Resize every (B, h, w, K) map to (B, H, W, K) and concatenate: (B, H, W, nK); `size` is
  H = W or (H, W). Each axis is resized on its own (256×192 inputs: 8×6 → 64×48).

  Resizing uses half-pixel centres, the same convention as `codecs.heatmap`, so a peak at
  resolution r lands where the keypoint is at resolution `size`. It is two contractions
  with constant (size, r) matrices, which is how `jax.image.resize` computes it too, written
  out so that the exported inference function (ONNX, any batch size) has no resize op whose
  converter needs a static batch.
  """
  if method not in UPSAMPLE_METHODS:
    raise ValueError(f"msr upsample method {method!r} is not one of {UPSAMPLE_METHODS}")
  out_h, out_w = (size, size) if isinstance(size, int) else size
  highest = jax.lax.Precision.HIGHEST
  resized = []
  for res in sorted(heatmaps):
    h = heatmaps[res]
    if h.shape[1:3] != (out_h, out_w):
      rows = jnp.asarray(resize_matrix(h.shape[1], out_h, method), h.dtype)
      cols = jnp.asarray(resize_matrix(h.shape[2], out_w, method), h.dtype)
      h = jnp.einsum("bhwk,Hh->bHwk", h, rows, precision=highest)
      h = jnp.einsum("bhwk,Ww->bhWk", h, cols, precision=highest)
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

  `__call__(heatmaps, features, train)`: heatmaps {r: (B, r, r·W/H, K)}, features (B, H, W,
  C); returns the final heatmaps (B, H, W, K) in float32.
  """
  depth: int
  features: int
  num_joints: int
  upsample: str = "bilinear"
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, heatmaps: dict[int, jax.Array], features: jax.Array,
               train: bool = False) -> jax.Array:
    size = tuple(features.shape[1:3])
    fused = upsample_heatmaps(heatmaps, size, self.upsample).astype(self.dtype)
    x = jnp.concatenate([fused, features.astype(self.dtype)], axis=-1)
    x = Conv(self.features, 1, relu=False, dtype=self.dtype, name="fuse")(x)
    x, _ = Hourglass(self.depth, self.features, self.dtype, name="hg")(x, train)
    x = Residual(self.features, self.dtype, name="features_res")(x, train)
    x = Conv(self.features, 1, bn=True, relu=True, dtype=self.dtype, name="features_conv")(x, train)
    out = Conv(self.num_joints, 1, relu=False, dtype=self.dtype, kernel_init=HEATMAP_INIT,
               name="out")(x)
    return out.astype(jnp.float32)
