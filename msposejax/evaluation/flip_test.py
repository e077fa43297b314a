"""Flip test (pure, jnp): average the heatmaps of an image and of its mirror image."""

from __future__ import annotations

from typing import Callable, Sequence

import jax

from msposejax.codecs.flip import flip_heatmaps


def flip_test_heatmaps(heatmap_fn: Callable[[jax.Array], jax.Array], images: jax.Array,
                       flip_pairs: Sequence[tuple[int, int]]) -> jax.Array:
  """(heatmaps(x) + unflip(heatmaps(mirror(x)))) / 2.

  Args:
    heatmap_fn: images (B, H, W, 3) → heatmaps (B, h, w, K).
    images: (B, H, W, 3).
    flip_pairs: the skeleton's left/right pairs, swapped after mirroring back.

  Under the pixel-centre convention of `codecs.heatmap`, mirroring the input mirrors every
  heatmap exactly (x ↦ w−1−x), so no one-pixel shift is needed after flipping back.
  """
  return 0.5 * (heatmap_fn(images) + flip_heatmaps(heatmap_fn(images[:, :, ::-1, :]), flip_pairs))
