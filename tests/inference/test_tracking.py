"""The One-Euro filter against its definition (Casiez et al. 2012), worked by hand, and the
box that follows a person."""

import math

import ml_collections
import numpy as np
import pytest

from msposejax.inference.tracking import OneEuroFilter, VideoSettings, box_from_keypoints, next_box


def _alpha(cutoff, dt):
  return 1 / (1 + 1 / (2 * math.pi * cutoff * dt))


def test_one_euro_matches_the_recurrence_by_hand():
  s = VideoSettings(min_cutoff=1.0, beta=2.0, d_cutoff=1.5)
  f = OneEuroFilter(s)
  side, dt = 100.0, 0.1
  xs = [10.0, 14.0, 13.0]
  out = [float(f(np.full((1, 2), x), t=i * dt, box_side=side)[0, 0]) for i, x in enumerate(xs)]
  # By hand: x̂0 = x0; speed_i = (x_i − x̂_{i−1}) / (dt·side), ḋ_i = a_d·speed_i + (1 − a_d)·ḋ_{i−1},
  # cutoff_i = min_cutoff + β|ḋ_i|, x̂_i = a·x_i + (1 − a)·x̂_{i−1}.
  a_d = _alpha(1.5, dt)
  d1 = a_d * (14 - 10) / (dt * side)
  x1 = _alpha(1 + 2 * abs(d1), dt) * 14 + (1 - _alpha(1 + 2 * abs(d1), dt)) * 10
  d2 = a_d * (13 - x1) / (dt * side) + (1 - a_d) * d1
  x2 = _alpha(1 + 2 * abs(d2), dt) * 13 + (1 - _alpha(1 + 2 * abs(d2), dt)) * x1
  np.testing.assert_allclose(out, [10, x1, x2], rtol=1e-6)


def test_one_euro_removes_jitter_at_rest_and_follows_motion():
  rng = np.random.default_rng(0)
  t = np.arange(120) / 30.0
  still = 50 + rng.normal(0, 2.0, (120, 1, 2))
  f = OneEuroFilter(VideoSettings())
  smooth = np.stack([f(x, ti, 200.0) for x, ti in zip(still, t)])
  assert smooth[30:].std() < 0.4 * still[30:].std()
  # A joint moving at 2 box sides/s: the smoothed track lags less than 3 frames' motion.
  moving = (50 + 400.0 * t)[:, None, None] * np.ones((1, 1, 2))
  f = OneEuroFilter(VideoSettings())
  smooth = np.stack([f(x, ti, 200.0) for x, ti in zip(moving, t)])
  assert np.abs(smooth[-30:] - moving[-30:]).max() < 3 * 400.0 / 30


def test_one_euro_refuses_time_going_backwards():
  f = OneEuroFilter(VideoSettings())
  f(np.zeros((2, 2)), 1.0, 10.0)
  with pytest.raises(ValueError, match="does not come after"):
    f(np.zeros((2, 2)), 1.0, 10.0)


def test_box_follows_confident_joints_only():
  kp = np.array([[10, 20], [30, 60], [25, 40], [500, 500]], np.float32)
  scores = np.array([0.9, 0.8, 0.5, 0.05])
  assert box_from_keypoints(kp, scores, 0.2, 3) == (10, 20, 30, 60)
  assert box_from_keypoints(kp, scores, 0.2, 4) is None   # too few confident joints
  assert box_from_keypoints(kp[:1].repeat(4, 0), np.ones(4), 0.2, 1) is None  # a point


def test_settings_from_config_and_older_checkpoints():
  config = ml_collections.ConfigDict({"video": {"min_cutoff": 0.5, "min_joints": 6}})
  s = VideoSettings.from_config(config)
  assert (s.min_cutoff, s.min_joints, s.beta) == (0.5, 6, VideoSettings().beta)
  assert VideoSettings.from_config(ml_collections.ConfigDict({})) == VideoSettings()


def test_next_box_is_clipped_limited_and_kept_when_unsure():
  s = VideoSettings(min_score=0.5, min_joints=2, max_change=1.25)
  kp = np.array([[40, 50], [80, 130]], np.float32)
  sure, unsure = np.array([0.9, 0.9]), np.array([0.9, 0.1])
  assert next_box((30, 40, 90, 140), kp, sure, (200, 300), s) == (40, 50, 80, 130)
  assert next_box((30, 40, 90, 140), kp, unsure, (200, 300), s) == (30, 40, 90, 140)
  # Far smaller than before (80 vs 200 px): shrinks by 1.25 only, around the joints' centre.
  x1, y1, x2, y2 = next_box((0, 0, 200, 200), kp, sure, (200, 300), s)
  assert (x1 + x2) / 2 == 60 and (y1 + y2) / 2 == 90
  assert max(x2 - x1, y2 - y1) == 200 / 1.25
  # Joints above the frame: nothing inside it, the box stays.
  above = np.array([[10, -60], [30, -20]], np.float32)
  assert next_box((30, 40, 90, 140), above, sure, (200, 300), s) == (30, 40, 90, 140)
  # Partly outside: clipped to the frame (pixel centres span −½ … w − ½).
  partly = np.array([[-40, 50], [60, 130]], np.float32)
  assert next_box((-30, 40, 70, 140), partly, sure, (200, 300), s)[0] == -0.5
