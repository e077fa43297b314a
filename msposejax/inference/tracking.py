"""One person through a video: the next frame's box from this frame's keypoints, and
One-Euro smoothing of the keypoints (pure NumPy; `video.py` reads and writes the frames).

The One-Euro filter (Casiez, Roussel, Vogel, CHI 2012) is a low-pass filter whose cutoff
rises with speed: at rest it removes jitter (cutoff `min_cutoff` Hz), in motion it follows
with little lag (cutoff min_cutoff + beta·|speed|). Speeds are measured in person-box sides
per second, so the same parameters work for a small and a large person.
"""

from __future__ import annotations

import dataclasses
import math

import ml_collections
import numpy as np


@dataclasses.dataclass(frozen=True)
class VideoSettings:
  """config.video (configs/default.py documents each field); defaults for older checkpoints."""
  min_cutoff: float = 1.0   # Hz: smoothing at rest (lower = smoother, more lag)
  beta: float = 1.0         # per (box side / s): how fast the cutoff rises with speed
  d_cutoff: float = 1.0     # Hz: smoothing of the speed estimate itself
  min_score: float = 0.2    # a joint at least this confident places the next box
  min_joints: int = 4       # fewer confident joints: the next frame keeps this frame's box
  max_change: float = 1.25  # the box's side changes by at most this factor per frame
  fps: float = 30.0         # frame rate of a folder of frames (a video file has its own)

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> "VideoSettings":
    section = config.get("video") or {}
    return cls(**{f.name: type(f.default)(section[f.name])
                  for f in dataclasses.fields(cls) if f.name in section})


def box_from_keypoints(keypoints: np.ndarray, scores: np.ndarray, min_score: float,
                       min_joints: int) -> tuple[float, float, float, float] | None:
  """(x1, y1, x2, y2) around the joints scoring ≥ min_score, or None with fewer than
  min_joints of them (or a degenerate box). `Predictor` adds its margin (data.scale_factor).

  Args:
    keypoints: (K, 2) image pixels; scores: (K,).
  """
  confident = np.asarray(scores) >= min_score
  if confident.sum() < min_joints:
    return None
  x1, y1 = keypoints[confident].min(axis=0)
  x2, y2 = keypoints[confident].max(axis=0)
  if not (np.isfinite([x1, y1, x2, y2]).all() and x2 > x1 and y2 > y1):
    return None
  return float(x1), float(y1), float(x2), float(y2)


def box_side(frame_shape: tuple[int, ...], box: tuple[float, ...] | None) -> float:
  """The person's size in px: the box's longer side, or the whole frame's without a box."""
  if box is None:
    return float(max(frame_shape[:2]))
  return float(max(box[2] - box[0], box[3] - box[1]))


def next_box(previous: tuple[float, float, float, float] | None, keypoints: np.ndarray,
             scores: np.ndarray, frame_shape: tuple[int, ...], settings: "VideoSettings"
             ) -> tuple[float, float, float, float] | None:
  """The person box for the next frame from this frame's keypoints (image px).

  The box around the confident joints, clipped to the frame; its longer side may change by
  at most settings.max_change per frame relative to `previous` (None: the whole frame), so
  that one frame of wrong keypoints cannot shrink the crop to a speck or leave the person.
  Where no box can be formed (too few confident joints, nothing inside the frame) the person
  keeps `previous`.
  """
  box = box_from_keypoints(keypoints, scores, settings.min_score, settings.min_joints)
  if box is None:
    return previous
  h, w = frame_shape[:2]
  x1, x2 = np.clip([box[0], box[2]], -0.5, w - 0.5)
  y1, y2 = np.clip([box[1], box[3]], -0.5, h - 0.5)
  if not (x2 > x1 and y2 > y1):
    return previous
  before = box_side(frame_shape, previous)
  side = max(x2 - x1, y2 - y1)
  ratio = float(np.clip(side / before, 1 / settings.max_change, settings.max_change))
  zoom = ratio * before / side
  cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
  hw, hh = (x2 - x1) / 2 * zoom, (y2 - y1) / 2 * zoom
  return float(cx - hw), float(cy - hh), float(cx + hw), float(cy + hh)


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
  tau = 1.0 / (2 * math.pi * cutoff)
  return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
  """Smooths (K, 2) keypoints over time; one filter per person track.

      f = OneEuroFilter(settings)
      smoothed = f(keypoints, t=frame / fps, box_side=side)   # each frame in order
  """

  def __init__(self, settings: VideoSettings):
    self.settings = settings
    self._t: float | None = None
    self._x: np.ndarray | None = None   # last smoothed position, (K, 2) px
    self._dx: np.ndarray | None = None  # last smoothed speed, box sides / s

  def __call__(self, keypoints: np.ndarray, t: float, box_side: float) -> np.ndarray:
    """The smoothed (K, 2) keypoints at time t (seconds, increasing), box_side px > 0."""
    x = np.asarray(keypoints, np.float64)
    if self._x is None:
      self._t, self._x, self._dx = t, x, np.zeros_like(x)
      return x.astype(np.float32)
    dt = t - self._t
    if not dt > 0:
      raise ValueError(f"frame time {t} does not come after {self._t}")
    s = self.settings
    speed = (x - self._x) / (dt * box_side)
    a_d = _alpha(s.d_cutoff, dt)
    self._dx = a_d * speed + (1 - a_d) * self._dx
    cutoff = s.min_cutoff + s.beta * np.abs(self._dx)
    a = _alpha(cutoff, dt)
    self._x = a * x + (1 - a) * self._x
    self._t = t
    return self._x.astype(np.float32)
