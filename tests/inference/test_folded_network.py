"""The deployment forward (NCHW, BatchNorm folded into the convolutions) computes what the
Flax model computes, with trained-looking BatchNorm statistics, on square and non-square
inputs, with and without MSS/MSR, and its predict function gives the predictor's keypoints."""

import jax
import numpy as np
import pytest

from msposejax.config_files import load_config
from msposejax.inference.folded_network import deploy_predict_fn, folded_heatmaps_fn
from msposejax.inference.predictor import Predictor
from msposejax.input_size import input_hw
from msposejax.models import pose_net_from_config
from msposejax.state.variables import init_variables
from tests.conftest import REPO


def _config(input_size, **model):
  """tiny with 2 stacks (merge convolutions between them), 16 channels (cheap)."""
  config = load_config(REPO / "configs" / "tiny.py")
  with config.ignore_type():
    config.input_size = input_size
  with config.unlocked():
    config.model.update(num_stacks=2, features=16, stem_features=(8, 16), **model)
  return config


def _trained_looking(variables, seed=0):
  """Freshly initialised BN is the identity (mean 0, var 1, scale 1, bias 0), which folding
  would pass whatever it did: give every statistic and affine parameter other values."""
  rng = np.random.default_rng(seed)

  def change(path, x):
    name = path[-1].key
    if name in ("mean", "bias"):
      return x + rng.normal(0, 0.2, x.shape).astype(np.float32)
    if name in ("var", "scale"):
      return x * rng.uniform(0.5, 2.0, x.shape).astype(np.float32)
    return x
  return jax.tree_util.tree_map_with_path(change, jax.device_get(variables))


@pytest.mark.parametrize("input_size,model", [
    ((64, 48), {}),                                        # MSS + MSR, non-square: 16×12 maps
    (64, {"mss": False, "msr": False}),                    # Newell's hourglass
    ((64, 32), {"msr_residual": True, "msr_upsample": "nearest"}),
])
def test_folded_forward_is_the_model(input_size, model):
  config = _config(input_size, **model)
  net = pose_net_from_config(config.model)
  variables = _trained_looking(init_variables(net, config.input_size, 0))
  h, w = input_hw(config)
  images = np.random.default_rng(1).uniform(0, 1, (2, h, w, 3)).astype(np.float32)
  want = np.asarray(net.apply(variables, images, train=False)["final"])
  got = np.asarray(jax.jit(folded_heatmaps_fn(variables, config.model))(images))
  assert got.shape == want.shape == (2, h // 4, w // 4, config.model.num_joints)
  # Folding reorders float32 products: equal to rounding, relative to the heatmaps' range.
  np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * np.abs(want).max())


def test_deploy_predict_gives_the_predictors_keypoints():
  config = _config((64, 48))
  variables = _trained_looking(init_variables(pose_net_from_config(config.model),
                                              config.input_size, 0), seed=3)
  predictor = Predictor(config, variables, flip_test=True)
  crops = np.random.default_rng(2).integers(0, 256, (3, 64, 48, 3), dtype=np.uint8)
  keypoints, scores = jax.jit(deploy_predict_fn(variables, predictor.config))(crops)
  want_keypoints, want_scores = predictor.predict_crops(crops)
  np.testing.assert_allclose(scores, want_scores, rtol=0, atol=1e-5 * np.abs(want_scores).max())
  # Argmax ties at rounding level may move a keypoint by a heatmap pixel (4 crop px); they
  # must be rare.
  moved = np.abs(np.asarray(keypoints) - want_keypoints).max(-1) > 1e-3
  assert moved.mean() <= 0.05, moved.sum()
