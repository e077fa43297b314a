"""PoseNet with MSS + MSR on non-square inputs: map shapes at every scale, MSR-net's per-axis
resizing, and flip test about the width."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from msposejax import skeleton
from msposejax.evaluation.flip_test import flip_test_heatmaps
from msposejax.models import PoseNet
from msposejax.models.msr_net import upsample_heatmaps

K = 16  # MPII's joints, for its flip pairs


def _tiny(depth=2):
  # One stack: every scale and MSR-net; two stacks' merge at 64×48 runs in describe's test
  # (tests/test_non_square_config.py).
  return PoseNet(num_stacks=1, features=16, depth=depth, num_joints=K, mss=True, msr=True,
                 stem_features=(8, 16))


def test_256_by_192_at_depth_4_has_every_scale_down_to_4_by_3():
  """COCO's input: 64×48 maps, decoder at 64×48 … 8×6 (the innermost hourglass at 4×3)."""
  model = _tiny(depth=4)
  images = jax.ShapeDtypeStruct((1, 256, 192, 3), jnp.float32)
  out, _ = jax.eval_shape(lambda x: model.init_with_output(jax.random.key(0), x), images)
  want = {64: (1, 64, 48, K), 32: (1, 32, 24, K), 16: (1, 16, 12, K), 8: (1, 8, 6, K)}
  for stack in out["stacks"]:
    assert {r: h.shape for r, h in stack.items()} == want
  assert out["final"].shape == (1, 64, 48, K)


def test_sides_not_a_multiple_of_the_depth_are_refused():
  with pytest.raises(ValueError, match="H and W divisible by 64"):
    jax.eval_shape(_tiny(depth=4).init, jax.random.key(0),
                   jax.ShapeDtypeStruct((1, 256, 200, 3), jnp.float32))


@pytest.fixture(scope="module")
def tiny_64x48():
  model = _tiny()
  x = jnp.asarray(np.random.default_rng(0).uniform(size=(1, 64, 48, 3)), jnp.float32)
  variables = model.init(jax.random.key(1), x)
  return model, variables, x


def test_tiny_model_on_64x48_gives_every_scale(tiny_64x48):
  model, variables, x = tiny_64x48
  out = model.apply(variables, x)
  for stack in out["stacks"]:
    assert {r: h.shape for r, h in stack.items()} == {16: (1, 16, 12, K), 8: (1, 8, 6, K)}
  assert out["final"].shape == (1, 16, 12, K)
  assert np.isfinite(np.asarray(out["final"])).all()


def test_msr_resizes_height_and_width_each_by_its_own_factor():
  rng = np.random.default_rng(2)
  maps = {8: jnp.asarray(rng.normal(size=(1, 8, 6, 3)), jnp.float32),
          16: jnp.asarray(rng.normal(size=(1, 16, 12, 3)), jnp.float32)}
  fused = upsample_heatmaps(maps, (16, 12), "bilinear")
  assert fused.shape == (1, 16, 12, 6)
  want = jax.image.resize(maps[8], (1, 16, 12, 3), "linear")
  np.testing.assert_allclose(np.asarray(fused[..., :3]), np.asarray(want), atol=1e-6)
  np.testing.assert_array_equal(np.asarray(fused[..., 3:]), np.asarray(maps[16]))


def test_flip_test_of_a_mirrored_input_is_the_mirrored_output(tiny_64x48):
  """Flip test mirrors about the width: on the mirror image it gives the mirror (x ↦ w−1−x,
  left and right joints swapped, written out here) of what it gives on the image."""
  model, variables, x = tiny_64x48
  pairs = skeleton.MPII.flip_pairs
  fn = lambda im: model.apply(variables, im)["final"]
  flip_test = jax.jit(lambda im: flip_test_heatmaps(fn, im, pairs))  # one compile, two calls
  plain = np.asarray(flip_test(x))
  mirrored = np.asarray(flip_test(x[:, :, ::-1, :]))
  perm = np.arange(K)
  for a, b in pairs:
    perm[a], perm[b] = b, a
  want = plain[:, :, ::-1, :][..., perm]
  assert plain.shape == (1, 16, 12, K) and np.abs(plain).max() > 1e-3
  np.testing.assert_allclose(mirrored, want, atol=1e-5)
