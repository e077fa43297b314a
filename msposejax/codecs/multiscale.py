"""The multi-scale heatmap codec of a config: the one place that knows which resolutions, which
σ, the batch layout, how keypoints become targets and heatmaps become keypoints.

In the spirit of mmpose's codecs: `encode` (host, NumPy) turns a crop's keypoints into the
targets of every supervised resolution and their weights; `decode` (device, jnp) turns the
final heatmaps into keypoints in input-crop pixels and scores. The data pipeline, the loss,
the train loop and the predict step all ask `MultiScaleCodec.from_config(config)`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np

from msposejax.codecs.decode import decode_heatmaps
from msposejax.codecs.heatmap import heatmap_to_input, render_multiscale
from msposejax.input_size import input_hw


@dataclasses.dataclass(frozen=True)
class MultiScaleCodec:
  """Keypoints ⇄ multi-scale heatmaps for one model and input size.

  Attributes:
    input_size: n of an (n, n, 3) input crop, or (H, W) of an (H, W, 3) one.
    resolutions: the height r of every supervised heatmap (its width is r·W/H), full
      resolution (H/4) first; one entry without MSS, `model.depth` entries with it (halving
      each time). Targets and the model's outputs are keyed by it.
    sigmas: the Gaussian σ (heatmap px) of each resolution (`targets.sigma_per_scale`).
    num_joints: K.
    decode_method: `decode.method`, one of `codecs.decode.DECODE_METHODS`: "quarter" (the
      argmax shifted ¼ px toward the higher neighbour; configs/default.py's choice, and the
      default here) or "parabola" (sub-pixel vertex of a parabola through the log-values).
  """
  input_size: int | tuple[int, int]
  resolutions: tuple[int, ...]
  sigmas: tuple[float, ...]
  num_joints: int
  decode_method: str = "quarter"

  @classmethod
  def from_config(cls, config: Any) -> "MultiScaleCodec":
    h, w = input_hw(config)
    full = h // 4
    levels = config.model.depth if config.model.mss else 1
    return cls(input_size=h if h == w else (h, w),
               resolutions=tuple(full // 2**level for level in range(levels)),
               sigmas=tuple(float(config.targets.sigma_per_scale[level])
                            for level in range(levels)),
               num_joints=int(config.model.num_joints),
               decode_method=str(config.decode.method))

  @property
  def full_resolution(self) -> int:
    return self.resolutions[0]

  @property
  def input_hw(self) -> tuple[int, int]:
    """(H, W) of the input crop."""
    return input_hw(self.input_size)

  @property
  def map_sizes(self) -> tuple[int | tuple[int, int], ...]:
    """Each resolution's map: its side r when the input is square, else (r, r·W/H)."""
    h, w = self.input_hw
    if h == w:
      return self.resolutions
    return tuple((r, r * w // h) for r in self.resolutions)

  def encode(self, xy: np.ndarray, visible: np.ndarray
             ) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Keypoints (K, 2) in crop px and visible (K,) → ({r: (r, r·W/H, K) f32}, weights (K,)
    f32), keyed by each map's height r.

    A joint's weight is 1 when it is labelled and inside the crop, else 0.
    """
    return render_multiscale(xy, visible, self.input_size, list(self.map_sizes),
                             list(self.sigmas))

  def decode(self, heatmaps: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Final heatmaps (B, H, W, K) → (keypoints (B, K, 2) in input-crop px, scores (B, K))."""
    coords, scores = decode_heatmaps(heatmaps, self.decode_method)
    if isinstance(self.input_size, int):
      return heatmap_to_input(coords, heatmaps.shape[1], self.input_size), scores
    xy = heatmap_to_input(coords, tuple(heatmaps.shape[1:3]), self.input_size)
    return xy.astype(coords.dtype), scores

  def batch_layout(self, batch_size: int | None) -> dict[str, Any]:
    """The training batch: {"image", "targets": {r: ...}, "weights", "valid"} as
    (shape, dtype) pairs, B = `batch_size` (a per-example layout with `batch_size=None`)."""
    b = () if batch_size is None else (batch_size,)
    (h, w), k = self.input_hw, self.num_joints
    return {"image": (b + (h, w, 3), np.uint8),
            "targets": {r: (b + (r, r * w // h, k), np.float32) for r in self.resolutions},
            "weights": (b + (k,), np.float32), "valid": (b, np.bool_)}

  def empty_example(self) -> dict[str, Any]:
    """An all-zero example with valid=False (what a bad record becomes)."""
    layout = self.batch_layout(None)
    return {"image": np.zeros(*layout["image"]),
            "targets": {r: np.zeros(*spec) for r, spec in layout["targets"].items()},
            "weights": np.zeros(*layout["weights"]), "valid": np.bool_(False)}
