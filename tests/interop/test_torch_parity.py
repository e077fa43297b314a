"""Our plain hourglass equals the PyTorch reference layer for layer (needs PyTorch)."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")

from msposejax.config_files import load_config  # noqa: E402
from msposejax.interop import torch_reference  # noqa: E402
from msposejax.interop.torch_names import StateDictMismatch, convert  # noqa: E402
from msposejax.models import pose_net_from_config  # noqa: E402
from tests.conftest import REPO  # noqa: E402


def _reference(config, seed=0):
  """A random PyTorch hourglass in eval mode with random BatchNorm statistics."""
  torch.manual_seed(seed)
  net = torch_reference.from_config(config.model)
  torch_reference.randomize_batch_norm(net, torch.Generator().manual_seed(seed))
  return net.eval()


def _state_dict(net):
  return {k: v.detach().numpy() for k, v in net.state_dict().items()}


@pytest.mark.parametrize("num_stacks", [1, 2])
def test_heatmaps_match_pytorch(num_stacks):
  config = load_config(REPO / "configs" / "hourglass2.py")  # 256 channels, depth 4
  with config.unlocked():
    config.model.num_stacks = num_stacks
  net = _reference(config, seed=num_stacks)
  model = pose_net_from_config(config.model)
  images = np.random.default_rng(num_stacks).uniform(size=(2, 128, 128, 3)).astype(np.float32)
  target = jax.eval_shape(model.init, jax.random.key(0), jnp.asarray(images))
  variables, report = convert(_state_dict(net), jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), target))
  assert not report["new"]
  ours = model.apply(variables, jnp.asarray(images))
  with torch.no_grad():
    theirs = net(torch.from_numpy(images)).numpy()  # (B, N, K, H, W)
  assert theirs.shape[1] == num_stacks
  for s in range(num_stacks):
    got = np.asarray(ours["stacks"][s][32])
    want = theirs[:, s].transpose(0, 2, 3, 1)
    assert np.abs(want).max() > 0.1  # a real signal, not two near-zero maps
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


def test_published_checkpoint_of_other_stack_count_is_refused():
  config = load_config(REPO / "configs" / "hourglass2.py")
  net8 = _reference(load_config(REPO / "configs" / "hourglass8.py"))
  model = pose_net_from_config(config.model)
  target = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 64, 64, 3)))
  with pytest.raises(StateDictMismatch, match="checkpoint has 8 stacks, the config 2"):
    convert(_state_dict(net8), jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), target))


def _small(name):
  config = load_config(REPO / "configs" / name)
  with config.unlocked():
    config.input_size = 64
    config.model.update(num_stacks=2, features=32, depth=2, stem_features=(16, 32))
  return config


def test_import_torch_command_then_predictor_and_init_from(tmp_path):
  """The CLI writes an orbax checkpoint; Predictor restores it with PyTorch's heatmaps, and a
  stage-1 MSS+MSR config loads it as init_from with the new heads reported."""
  config = _small("hourglass2.py")
  net = _reference(config, seed=3)
  # As princeton-vl saves it: Trainer(DataParallel(PoseNet)) inside {"state_dict": ...}.
  checkpoint = tmp_path / "model.pt"
  torch.save({"state_dict": {"model.module." + k: v for k, v in net.state_dict().items()},
              "epoch": 1}, checkpoint)
  out = tmp_path / "imported"
  overrides = ["--config.input_size=64", "--config.model.num_stacks=2",
               "--config.model.features=32", "--config.model.depth=2",
               "--config.model.stem_features=(16, 32)"]
  cmd = [sys.executable, "-m", "msposejax.main", "import-torch", "--config",
         str(REPO / "configs" / "hourglass2.py"), *overrides,
         f"--torch_weights={checkpoint}", f"--out={out}"]
  done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, JAX_PLATFORMS="cpu"))
  assert done.returncode == 0, done.stderr[-3000:]
  assert "arrays loaded, 0 new" in done.stdout
  from msposejax.interop.torch_import import import_torch
  with pytest.raises(FileExistsError, match="already holds checkpoints"):
    import_torch(checkpoint, config, out)  # nothing is overwritten

  from msposejax.inference.predictor import Predictor
  predictor = Predictor.from_checkpoint(out)
  images = np.random.default_rng(0).uniform(size=(1, 64, 64, 3)).astype(np.float32)
  model = pose_net_from_config(predictor.config.model)
  ours = model.apply(predictor.variables, jnp.asarray(images))
  with torch.no_grad():
    theirs = net(torch.from_numpy(images)).numpy()[:, -1].transpose(0, 2, 3, 1)
  np.testing.assert_allclose(np.asarray(ours["final"]), theirs, atol=1e-4, rtol=0)

  from msposejax.training.trainer import Trainer
  stage1 = _small("mss8_msr.py")
  with stage1.unlocked():
    stage1.init_from = str(out)
  state = Trainer(stage1, tmp_path / "stage1").init_state()
  kernel = np.asarray(state.params["stack1"]["hg"]["up1"]["conv2"]["conv"]["kernel"])
  np.testing.assert_allclose(
      kernel, net.hgs[1][0].up1.conv2.conv.weight.detach().numpy().transpose(2, 3, 1, 0))


def test_unreadable_checkpoint_gets_a_clear_error(tmp_path):
  from msposejax.interop.torch_import import load_state_dict
  bad = tmp_path / "bad.pt"
  bad.write_bytes(b"not a zip file")
  with pytest.raises(ValueError, match="is not a readable PyTorch checkpoint"):
    load_state_dict(bad)
  with pytest.raises(FileNotFoundError, match="no PyTorch checkpoint"):
    load_state_dict(tmp_path / "absent.pt")
  other = tmp_path / "other.pt"
  torch.save([1, 2, 3], other)
  with pytest.raises(ValueError, match="holds no state dict"):
    load_state_dict(other)
