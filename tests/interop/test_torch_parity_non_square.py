"""The 256×192 (H×W) hourglass equals the PyTorch reference on the same input (needs PyTorch):
COCO's top-down input, down to a 4×3 innermost map at depth 4."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")

from msposejax.config_files import load_config  # noqa: E402
from msposejax.interop.torch_names import convert  # noqa: E402
from msposejax.models import pose_net_from_config  # noqa: E402
from tests.conftest import REPO  # noqa: E402
from tests.interop.test_torch_parity import _reference, _state_dict  # noqa: E402


def test_256_by_192_heatmaps_match_pytorch():
  # One stack is the cheapest test of every non-square layer (stem, the 4 pooling levels
  # down to 4×3 and back, the head); the stacks' merge is shape-agnostic and tested square.
  config = load_config(REPO / "configs" / "hourglass2.py")  # 256 channels, depth 4
  with config.unlocked():
    config.model.num_stacks = 1
  net = _reference(config, seed=5)
  model = pose_net_from_config(config.model)
  images = np.random.default_rng(5).uniform(size=(1, 256, 192, 3)).astype(np.float32)
  target = jax.eval_shape(model.init, jax.random.key(0), jnp.asarray(images))
  zeros = jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), target)
  variables, report = convert(_state_dict(net), zeros)
  assert not report["new"]
  ours = np.asarray(model.apply(variables, jnp.asarray(images))["stacks"][0][64])
  with torch.no_grad():
    theirs = net(torch.from_numpy(images)).numpy()[:, 0].transpose(0, 2, 3, 1)  # (B, H, W, K)
  assert ours.shape == theirs.shape == (1, 64, 48, 16)
  assert np.abs(theirs).max() > 0.1  # a real signal, not two near-zero maps
  print(f"max |ours - PyTorch| at 256×192: {np.abs(ours - theirs).max():.2e}")
  np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
