"""The One-Euro filter against its definition (Casiez et al. 2012), worked by hand, and the
box that follows a person."""

import math

import ml_collections
import numpy as np
import pytest

from msposejax.inference.tracking import OneEuroFilter, VideoSettings, box_from_keypoints


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
