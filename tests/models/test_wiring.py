"""The paper's wiring (docs/method.md §2), against a by-hand NumPy forward of the parts that
join the modules: each MSS head reads its own stack's decoder at its own scale, MSR-net reads
the last stack's heatmaps (every scale, bilinearly upsampled) and features, and with
`msr_residual` the final maps are the last stack's full-resolution maps plus MSR-net's.

The modules' inputs and outputs are recorded with `flax.linen.intercept_methods` from one
forward pass of a tiny 2-stack model; every expected value is recomputed here with NumPy.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from msposejax.models import PoseNet

K, C, SIZE = 3, 8, 32  # joints, features, input side: heatmaps at 8 and 4 px (depth 2)


def bilinear_up(h: np.ndarray, size: int) -> np.ndarray:
  """(B, r, r, K) → (B, size, size, K), half-pixel centres, edge samples clamped."""
  r = h.shape[1]
  src = np.clip((np.arange(size) + 0.5) * r / size - 0.5, 0, r - 1)
  lo = np.floor(src).astype(int)
  hi = np.minimum(lo + 1, r - 1)
  f = src - lo
  rows = h[:, lo] * (1 - f)[None, :, None, None] + h[:, hi] * f[None, :, None, None]
  return rows[:, :, lo] * (1 - f)[None, None, :, None] + rows[:, :, hi] * f[None, None, :, None]


def pointwise(params: dict, x: np.ndarray) -> np.ndarray:
  """A 1×1 convolution by hand: x (B, H, W, Cin) @ kernel (1, 1, Cin, Cout) + bias."""
  kernel = np.asarray(params["conv"]["kernel"]).reshape(x.shape[-1], -1)
  return np.einsum("bhwc,ck->bhwk", x, kernel) + np.asarray(params["conv"]["bias"])


@pytest.fixture(scope="module")
def recorded():
  # With the residual: MSR-net's own output is still recorded apart, so one model checks both.
  model = PoseNet(num_stacks=2, features=C, depth=2, num_joints=K, stem_features=(8, 8),
                  msr_residual=True)
  images = jax.random.uniform(jax.random.key(1), (2, SIZE, SIZE, 3))
  variables = model.init(jax.random.key(0), images)
  # Non-zero biases everywhere: a head or a conv left out cannot hide behind a zero init.
  variables = jax.tree_util.tree_map_with_path(
      lambda path, x: x + 0.1 * jax.random.normal(jax.random.key(len(str(path))), x.shape)
      if "bias" in str(path[-1]) else x, variables)
  calls = {}

  def record(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    if context.method_name == "__call__":
      calls["/".join(context.module.path)] = (jax.device_get(args), jax.device_get(out))
    return out

  with nn.intercept_methods(record):
    out = model.apply(variables, images)
  return jax.device_get(variables["params"]), calls, jax.device_get(out)


def test_mss_heads_read_their_own_stacks_decoder_at_their_own_scale(recorded):
  params, calls, out = recorded
  for s in range(2):
    _, (_, decoder) = calls[f"stack{s}/hg"]
    assert sorted(out["stacks"][s]) == [4, 8] and sorted(decoder) == [4, 8]
    coarse = 4
    assert decoder[coarse].shape[1:3] == (coarse, coarse)
    expected = pointwise(params[f"stack{s}"][f"mss_head_r{coarse}"], decoder[coarse])
    np.testing.assert_allclose(out["stacks"][s][coarse], expected, rtol=1e-5, atol=1e-5)
    # The other stack's decoder gives other maps: the check above can tell them apart.
    other = calls[f"stack{1 - s}/hg"][1][1][coarse]
    assert not np.allclose(pointwise(params[f"stack{s}"][f"mss_head_r{coarse}"], other),
                           out["stacks"][s][coarse], atol=1e-3)


def test_each_stack_reads_the_stem_or_the_previous_stacks_merge(recorded):
  params, calls, out = recorded
  _, stem = calls["pre_res3"]
  (x0, *_), (next0, _, feat0) = calls["stack0"]
  (x1, *_), _ = calls["stack1"]
  np.testing.assert_array_equal(x0, stem)
  # Newell's merge: x + conv1×1(full-resolution heatmaps) + conv1×1(head features).
  by_hand = (x0 + pointwise(params["stack0"]["merge_preds"], out["stacks"][0][8])
             + pointwise(params["stack0"]["merge_features"], feat0))
  np.testing.assert_allclose(next0, by_hand, rtol=1e-5, atol=1e-5)
  np.testing.assert_array_equal(x1, next0)
  # The full-resolution maps are Newell's head on the stack's features.
  for s in range(2):
    feat = calls[f"stack{s}"][1][2]
    np.testing.assert_allclose(out["stacks"][s][8], pointwise(params[f"stack{s}"]["out"], feat),
                               rtol=1e-5, atol=1e-5)


def test_msr_net_reads_the_last_stacks_heatmaps_and_features(recorded):
  params, calls, out = recorded
  (heatmaps, features, *_), _ = calls["msr"]
  _, (_, last_heatmaps, last_features) = calls["stack1"]
  first_heatmaps = calls["stack0"][1][1]
  for r in (4, 8):
    np.testing.assert_array_equal(heatmaps[r], out["stacks"][1][r])
    np.testing.assert_array_equal(heatmaps[r], last_heatmaps[r])
    assert not np.allclose(heatmaps[r], first_heatmaps[r], atol=1e-3)
  np.testing.assert_array_equal(features, last_features)
  assert not np.allclose(features, calls["stack0"][1][2], atol=1e-3)
  # MSR-net's first layer sees every scale resized to full resolution, then the features.
  (fused,), _ = calls["msr/fuse"]
  by_hand = np.concatenate([bilinear_up(out["stacks"][1][4], 8), out["stacks"][1][8],
                            last_features], axis=-1)
  np.testing.assert_allclose(fused, by_hand, rtol=1e-5, atol=1e-6)


def test_final_heatmaps_are_msr_nets_plus_the_last_full_resolution_maps_with_residual(recorded):
  _, calls, out = recorded
  _, msr_out = calls["msr"]
  np.testing.assert_allclose(out["final"], msr_out + out["stacks"][1][8], rtol=1e-6, atol=1e-6)
  for wrong in (msr_out, msr_out + out["stacks"][0][8]):
    assert not np.allclose(out["final"], wrong, atol=1e-3)
