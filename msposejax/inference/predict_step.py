"""The pure predict step: uint8 crops → keypoints in crop pixels and scores (jit it).

Training's evaluation, `Predictor` and `export` all run this function, so what is exported
is what was evaluated.
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from msposejax import skeleton
from msposejax.codecs.multiscale import MultiScaleCodec
from msposejax.evaluation.flip_test import flip_test_heatmaps


def to_float_images(images: jax.Array) -> jax.Array:
  """uint8 [0, 255] → float32 [0, 1]; batches travel as uint8 (4× less host→device traffic)."""
  return images.astype(jnp.float32) / 255.0


def make_predict_step(model: nn.Module, config: ml_collections.ConfigDict
                      ) -> Callable[[dict, jax.Array], tuple[jax.Array, jax.Array]]:
  """Returns predict(variables, images_uint8) → (coords (B,K,2) in input-crop px, scores (B,K)).

  Uses MSR-net's (or the last stack's) final heatmaps, flip test when config.decode.flip_test.
  """
  flip = bool(config.decode.flip_test)
  flip_pairs = skeleton.from_config(config).flip_pairs
  codec = MultiScaleCodec.from_config(config)

  def predict(variables: dict, images: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = to_float_images(images)
    heatmap_fn = lambda im: model.apply(variables, im, train=False)["final"]
    heatmaps = flip_test_heatmaps(heatmap_fn, x, flip_pairs) if flip else heatmap_fn(x)
    return codec.decode(heatmaps)

  return predict
