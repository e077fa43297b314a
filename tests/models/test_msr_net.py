"""MSR-net's resizing: the constant-matrix form equals `jax.image.resize`."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from msposejax.models.msr_net import resize_matrix, upsample_heatmaps


@pytest.mark.parametrize("method, jax_method, atol", [("bilinear", "linear", 1e-6),
                                                      ("nearest", "nearest", 0.0)])
def test_upsampling_equals_jax_image_resize(method, jax_method, atol):
  rng = np.random.default_rng(0)
  maps = {r: jnp.asarray(rng.normal(size=(2, r, r, 3)), jnp.float32) for r in (8, 16, 32)}
  ours = upsample_heatmaps(maps, 32, method)
  want = jnp.concatenate([jax.image.resize(maps[r], (2, 32, 32, 3), jax_method)
                          if r != 32 else maps[r] for r in (8, 16, 32)], axis=-1)
  np.testing.assert_allclose(np.asarray(ours), np.asarray(want), atol=atol, rtol=0)


def test_resize_matrix_by_hand():
  # ×2 bilinear with half-pixel centres: output i samples input (i + ½)/2 − ½; the border
  # samples (−¼ and 3¼ for 4 → 8) take the edge pixel whole.
  w = resize_matrix(4, 8, "bilinear")
  np.testing.assert_allclose(w[0], [1, 0, 0, 0])
  np.testing.assert_allclose(w[1], [0.75, 0.25, 0, 0])
  np.testing.assert_allclose(w[2], [0.25, 0.75, 0, 0])
  np.testing.assert_allclose(w[7], [0, 0, 0, 1])
  np.testing.assert_allclose(w.sum(axis=1), 1, rtol=1e-6)
  np.testing.assert_array_equal(resize_matrix(2, 4, "nearest"),
                                [[1, 0], [1, 0], [0, 1], [0, 1]])
