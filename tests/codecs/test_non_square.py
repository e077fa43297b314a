"""The multi-scale codec of a non-square (H, W) input: 64×48 crops → 16×12 and 8×6 maps."""

import jax.numpy as jnp
import numpy as np

from msposejax.codecs import MultiScaleCodec
from msposejax.config_files import load_config
from tests.conftest import REPO


def _codec():
  config = load_config(REPO / "configs" / "tiny.py")  # depth 2, MSS, 16 joints
  with config.ignore_type():
    config.input_size = (64, 48)
  with config.unlocked():
    config.decode.method = "parabola"
  return MultiScaleCodec.from_config(config)


def test_maps_are_a_quarter_of_h_and_w_keyed_by_height():
  codec = _codec()
  assert codec.input_hw == (64, 48) and codec.resolutions == (16, 8)
  assert codec.map_sizes == ((16, 12), (8, 6))
  layout = codec.batch_layout(2)
  assert layout["image"] == ((2, 64, 48, 3), np.uint8)
  assert layout["targets"] == {16: ((2, 16, 12, 16), np.float32),
                               8: ((2, 8, 6, 16), np.float32)}


def test_peaks_sit_where_each_axis_maps_them():
  """A joint at crop (x, y) peaks at ((x + ½)·w/W − ½, (y + ½)·h/H − ½) on each map."""
  codec = _codec()
  xy = np.zeros((16, 2))
  xy[0] = (41.5, 9.5)  # → (10, 2) on 16×12 and (4.75, 0.75) on 8×6
  visible = np.zeros(16, bool)
  visible[0] = True
  targets, weights = codec.encode(xy, visible)
  assert targets[16].shape == (16, 12, 16) and targets[8].shape == (8, 6, 16)
  assert weights[0] == 1 and weights[1:].sum() == 0
  assert np.unravel_index(targets[16][..., 0].argmax(), (16, 12)) == (2, 10)
  assert targets[16][2, 10, 0] == 1.0
  # σ = 1 at 8×6: exp(−(0.25² + 0.25²)/2) at (x, y) = (5, 1).
  np.testing.assert_allclose(targets[8][1, 5, 0], np.exp(-0.0625), rtol=1e-6)


def test_encode_then_decode_gives_the_keypoints_back():
  codec = _codec()
  rng = np.random.default_rng(0)
  # Away from the border (the parabola needs both neighbours); x spans 48 px, y 64.
  xy = np.stack([rng.uniform(6, 42, 16), rng.uniform(6, 58, 16)], axis=1)
  targets, weights = codec.encode(xy, np.ones(16, bool))
  assert weights.all()
  coords, scores = codec.decode(jnp.asarray(targets[16])[None])
  assert coords.shape == (1, 16, 2) and scores.shape == (1, 16)
  # The parabola through the log of a Gaussian is exact: only float32 rounding is left.
  np.testing.assert_allclose(np.asarray(coords[0]), xy, atol=2e-3)
  # A joint outside the 48 px width (but inside 64) has no target.
  outside = xy.copy()
  outside[3] = (50.0, 20.0)
  assert codec.encode(outside, np.ones(16, bool))[1][3] == 0


def test_each_axis_has_its_own_ratio():
  """(x, y) between sizes given as (H, W): x scales by the widths, y by the heights."""
  from msposejax.codecs.heatmap import heatmap_to_input, input_to_heatmap
  xy = np.array([[11.5, 7.5]])
  got = input_to_heatmap(xy, (64, 48), (16, 24))  # W: 48 → 24 (½), H: 64 → 16 (¼)
  np.testing.assert_allclose(got, [[(12 * 0.5) - 0.5, (8 * 0.25) - 0.5]])
  np.testing.assert_allclose(heatmap_to_input(got, (16, 24), (64, 48)), xy)
