"""Flip test (pure, jnp): average the heatmaps of an image and of its mirror image."""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp

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
  # One network call on the images and their mirrors stacked: the program holds the network
  # once, so it compiles and exports in half the size (and the ONNX conversion takes a
  # fraction of the time). Split by a reshape rather than a slice, which the ONNX converter
  # cannot take with a symbolic batch size.
  both = heatmap_fn(jnp.concatenate([images, images[:, :, ::-1, :]], axis=0))
  pair = both.reshape(2, images.shape[0], *both.shape[1:])
  # Indexed, not unpacked: unpacking is JAX 0.12's `unstack`, which the converter lacks.
  plain, mirrored = (jax.lax.index_in_dim(pair, i, keepdims=False) for i in (0, 1))
  return 0.5 * (plain + flip_heatmaps(mirrored, flip_pairs))
