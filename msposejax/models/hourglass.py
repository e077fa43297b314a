"""Recursive hourglass that also returns its decoder features at every resolution."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from msposejax.models.layers import Dtype, Residual, max_pool2, upsample2_nearest


class Hourglass(nn.Module):
  """Newell's hourglass of the given depth (princeton-vl names: up1, low1, low2, low3).

  At each level: upper branch Residual; lower branch maxpool → Residual → (inner hourglass or
  Residual) → Residual → nearest ×2, added to the upper branch.

  Attributes:
    depth: number of pooling levels (4 maps 64 px → 4 px and back).
    features: channels C, constant through the hourglass.
    dtype: computation dtype.

  Returns from `__call__`:
    (out, decoder): out is (B, H, W, C); decoder maps each decoder resolution (the height of
    the level's output: H, H/2, …, H/2^(depth−1)) to that level's output features.
  """
  depth: int
  features: int
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> tuple[jax.Array, dict[int, jax.Array]]:
    up1 = Residual(self.features, self.dtype, name="up1")(x, train)
    low1 = Residual(self.features, self.dtype, name="low1")(max_pool2(x), train)
    if self.depth > 1:
      low2, decoder = Hourglass(self.depth - 1, self.features, self.dtype, name="low2")(low1, train)
    else:
      low2, decoder = Residual(self.features, self.dtype, name="low2")(low1, train), {}
    low3 = Residual(self.features, self.dtype, name="low3")(low2, train)
    out = up1 + upsample2_nearest(low3)
    return out, {**decoder, out.shape[1]: out}
