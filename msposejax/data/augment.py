"""Training augmentation parameters and colour jitter (pure NumPy)."""

from __future__ import annotations

import dataclasses

import cv2
import ml_collections
import numpy as np


@dataclasses.dataclass(frozen=True)
class Augmentation:
  scale: float          # multiplies the crop side (>1 zooms out)
  rotation: float       # degrees, counter-clockwise
  flip: bool
  gains: np.ndarray     # (3,) per-channel colour gains


def sample_augmentation(rng: np.random.Generator,
                        cfg: ml_collections.ConfigDict) -> Augmentation:
  """Draws one augmentation from `config.data.augment` (the hourglass recipe by default)."""
  scale = rng.uniform(cfg.scale_min, cfg.scale_max)
  rotation = rng.uniform(-cfg.rotation, cfg.rotation) if rng.uniform() < cfg.rotation_prob else 0.0
  flip = bool(rng.uniform() < cfg.flip_prob)
  gains = rng.uniform(1 - cfg.colour, 1 + cfg.colour, 3)
  return Augmentation(float(scale), float(rotation), flip, gains.astype(np.float32))


def identity_augmentation() -> Augmentation:
  return Augmentation(1.0, 0.0, False, np.ones(3, np.float32))


def colour_jitter(image: np.ndarray, gains: np.ndarray) -> np.ndarray:
  """Scales each RGB channel of a uint8 image by its gain, rounding down, saturating at 255
  (one per-channel lookup table: cheaper than float arithmetic on every pixel)."""
  if np.all(gains == 1):
    return image
  levels = np.arange(256, dtype=np.float32)[:, None]
  lut = np.clip(levels * np.asarray(gains, np.float32)[None, :], 0, 255).astype(np.uint8)
  return cv2.LUT(image, lut[None])
