"""Flip test (pure, jnp): average the heatmaps of an image and of its mirror image."""

from __future__ import annotations

from typing import Callable

import jax

from msposejax.codecs.flip import flip_heatmaps


def flip_test_heatmaps(heatmap_fn: Callable[[jax.Array], jax.Array], images: jax.Array
                       ) -> jax.Array:
  """(heatmaps(x) + unflip(heatmaps(mirror(x)))) / 2.

  Args:
    heatmap_fn: images (B, H, W, 3) → heatmaps (B, h, w, K).
    images: (B, H, W, 3).

  Under the pixel-centre convention of `codecs.heatmap`, mirroring the input mirrors every
  heatmap exactly (x ↦ w−1−x), so no one-pixel shift is needed after flipping back.
  """
  return 0.5 * (heatmap_fn(images) + flip_heatmaps(heatmap_fn(images[:, :, ::-1, :])))
