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


@dataclasses.dataclass(frozen=True)
class MultiScaleCodec:
  """Keypoints ⇄ multi-scale heatmaps for one model and input size.

  Attributes:
    input_size: n of the (n, n, 3) input crop.
    resolutions: side of every supervised heatmap, full resolution (n/4) first; one entry
      without MSS, `model.depth` entries with it (halving each time).
    sigmas: the Gaussian σ (heatmap px) of each resolution (`targets.sigma_per_scale`).
    num_joints: K.
    decode_method: `decode.method` ("argmax", "parabola", ...).
  """
  input_size: int
  resolutions: tuple[int, ...]
  sigmas: tuple[float, ...]
  num_joints: int
  decode_method: str = "parabola"

  @classmethod
  def from_config(cls, config: Any) -> "MultiScaleCodec":
    full = config.input_size // 4
    levels = config.model.depth if config.model.mss else 1
    return cls(input_size=int(config.input_size),
               resolutions=tuple(full // 2**level for level in range(levels)),
               sigmas=tuple(float(config.targets.sigma_per_scale[level])
                            for level in range(levels)),
               num_joints=int(config.model.num_joints),
               decode_method=str(config.decode.method))

  @property
  def full_resolution(self) -> int:
    return self.resolutions[0]

  def encode(self, xy: np.ndarray, visible: np.ndarray
             ) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Keypoints (K, 2) in crop px and visible (K,) → ({r: (r, r, K) f32}, weights (K,) f32).

    A joint's weight is 1 when it is labelled and inside the crop, else 0.
    """
    return render_multiscale(xy, visible, self.input_size, list(self.resolutions),
                             list(self.sigmas))

  def decode(self, heatmaps: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Final heatmaps (B, H, W, K) → (keypoints (B, K, 2) in input-crop px, scores (B, K))."""
    coords, scores = decode_heatmaps(heatmaps, self.decode_method)
    return heatmap_to_input(coords, heatmaps.shape[1], self.input_size), scores

  def batch_layout(self, batch_size: int | None) -> dict[str, Any]:
    """The training batch: {"image", "targets": {r: ...}, "weights", "valid"} as
    (shape, dtype) pairs, B = `batch_size` (a per-example layout with `batch_size=None`)."""
    b = () if batch_size is None else (batch_size,)
    n, k = self.input_size, self.num_joints
    return {"image": (b + (n, n, 3), np.uint8),
            "targets": {r: (b + (r, r, k), np.float32) for r in self.resolutions},
            "weights": (b + (k,), np.float32), "valid": (b, np.bool_)}

  def empty_example(self) -> dict[str, Any]:
    """An all-zero example with valid=False (what a bad record becomes)."""
    layout = self.batch_layout(None)
    return {"image": np.zeros(*layout["image"]),
            "targets": {r: np.zeros(*spec) for r, spec in layout["targets"].items()},
            "weights": np.zeros(*layout["weights"]), "valid": np.bool_(False)}
