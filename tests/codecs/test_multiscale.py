"""The config's multi-scale codec: which maps, their layout, encode → decode in crop pixels."""

import jax.numpy as jnp
import numpy as np
import pytest

from msposejax.codecs import MultiScaleCodec
from tests.conftest import with_field


def test_resolutions_and_sigmas_follow_the_model(tiny_config):
  codec = MultiScaleCodec.from_config(tiny_config)  # 64-px input, depth 2, MSS
  assert codec.resolutions == (16, 8) and codec.sigmas == (1.0, 1.0)
  assert MultiScaleCodec.from_config(with_field(tiny_config, "model.mss", False)).resolutions \
      == (16,)
  layout = codec.batch_layout(4)
  assert layout["image"] == ((4, 64, 64, 3), np.uint8) and layout["valid"] == ((4,), np.bool_)
  assert {r: s for r, (s, _) in layout["targets"].items()} == {16: (4, 16, 16, 16),
                                                                8: (4, 8, 8, 16)}
  empty = codec.empty_example()
  assert not empty["valid"] and empty["targets"][8].shape == (8, 8, 16)


def test_encode_then_decode_returns_the_keypoints_in_crop_pixels(tiny_config):
  codec = MultiScaleCodec.from_config(with_field(tiny_config, "decode.method", "parabola"))
  rng = np.random.default_rng(0)
  xy = rng.uniform(6, 56, (16, 2))  # away from the border, where decoding cannot refine
  visible = np.ones(16, bool)
  visible[3] = False
  xy[5] = (200.0, 10.0)  # labelled but outside the crop: weight 0
  targets, weights = codec.encode(xy, visible)
  assert weights[3] == 0 and weights[5] == 0 and weights.sum() == 14
  # A 16-px map of a 64-px crop: 1 map px = 4 crop px; x_in = (x_r + ½)·4 − ½.
  peak = np.unravel_index(np.argmax(targets[16][..., 0]), (16, 16))
  np.testing.assert_allclose((np.array(peak[::-1]) + 0.5) * 4 - 0.5, xy[0], atol=2.5)
  coords, scores = codec.decode(jnp.asarray(targets[16])[None])
  ok = weights > 0
  np.testing.assert_allclose(np.asarray(coords)[0][ok], xy[ok], atol=0.25)
  # The score is the map's peak: ≥ exp(−(√½)²/2) = 0.78 for σ = 1 and a centre ≤ √½ px away.
  assert np.all(np.asarray(scores)[0][ok] > 0.77)


def test_each_scale_has_its_own_sigma_in_its_own_pixels(tiny_config):
  # targets.sigma_per_scale = (2, 1): the 16-px map's Gaussian has σ = 2 of its pixels, the
  # 8-px map's σ = 1 of its own (docs/method.md §3), measured from each map's second moment.
  codec = MultiScaleCodec.from_config(with_field(tiny_config, "targets.sigma_per_scale",
                                                 (2.0, 1.0)))
  assert codec.sigmas == (2.0, 1.0)
  xy = np.zeros((16, 2))
  xy[0] = (31.5, 31.5)   # the crop centre: the middle of every map
  targets, _ = codec.encode(xy, np.arange(16) == 0)
  for r, sigma in ((16, 2.0), (8, 1.0)):
    g = targets[r][..., 0].astype(np.float64)
    x = np.arange(r) - (r - 1) / 2
    variance = (g.sum(axis=0) * x**2).sum() / g.sum()
    assert np.sqrt(variance) == pytest.approx(sigma, rel=0.05), r



def test_decode_method_default_is_the_configs_and_the_docstring_names_only_real_methods():
  """#26: the docstring listed an "argmax" method that does not exist and a default
  ("parabola") that was not configs/default.py's ("quarter")."""
  import dataclasses
  import re

  from msposejax.codecs.decode import DECODE_METHODS
  from msposejax.config_files import load_config
  from tests.conftest import REPO
  default = load_config(REPO / "configs" / "default.py").decode.method
  field = {f.name: f for f in dataclasses.fields(MultiScaleCodec)}["decode_method"]
  assert field.default == default == "quarter"
  doc = MultiScaleCodec.__doc__.split("decode_method:")[1]
  assert set(re.findall(r'"(\w+)"', doc)) == set(DECODE_METHODS)
