"""One train step on a mesh of 8 (fake CPU) devices equals the same step on 1 device."""

import jax
import numpy as np
import pytest

from msposejax.data import pipeline
from msposejax.training import sharding
from msposejax.training.loop import Trainer
from tests.training.conftest import small_config


# RMSProp's first update is ±10·lr for any non-zero gradient, so a near-zero gradient whose
# last bit differs between reduction orders flips sign: parameters can differ by ≤ 20·lr.
LR = 1e-6
# Both parametrisations compare with one single-device step, computed once in their process.
pytestmark = pytest.mark.xdist_group("sharding")


def _one_step(tfds_dir, devices, fsdp):
  cfg = small_config(tfds_dir, **{"optimizer.learning_rate": LR, "mesh.fsdp": fsdp})
  batch = next(iter(pipeline.train_loader(cfg)))
  trainer = Trainer(cfg, "/tmp/unused", devices=devices)
  state = trainer.init_state()
  step = trainer.compile_train_step()
  state, metrics = step(state, sharding.global_batch(batch, trainer.mesh))
  return state, jax.device_get((state.params, state.batch_stats, metrics))


@pytest.fixture(scope="module")
def one_device(tfds_dir):
  return _one_step(tfds_dir, jax.devices()[:1], 1)[1]


@pytest.mark.parametrize("fsdp", [1, 2])
def test_mesh_of_eight_matches_one_device(tfds_dir, one_device, fsdp):
  assert jax.device_count() == 8, "conftest sets --xla_force_host_platform_device_count=8"
  state, (p8, b8, m8) = _one_step(tfds_dir, jax.devices(), fsdp)
  kernel = state.params["stack0"]["hg"]["up1"]["conv2"]["conv"]["kernel"]
  assert len(kernel.sharding.device_set) == 8
  p1, b1, m1 = one_device
  np.testing.assert_allclose(m1["loss/total"], m8["loss/total"], rtol=1e-5)
  np.testing.assert_allclose(m1["grad_norm"], m8["grad_norm"], rtol=1e-5)
  # BatchNorm statistics over the global batch: exactly what one device computes.
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), b1, b8)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=20 * LR), p1, p8)


def test_fsdp_shards_large_parameters():
  mesh = jax.sharding.Mesh(np.asarray(jax.devices()).reshape(4, 2), ("data", "fsdp"))
  abstract = {"big": jax.ShapeDtypeStruct((3, 3, 128, 256), np.float32),
              "small": jax.ShapeDtypeStruct((16,), np.float32)}
  specs = sharding.state_shardings(abstract, mesh)
  assert specs["big"].spec == jax.sharding.PartitionSpec(None, None, None, "fsdp")
  assert specs["small"].spec == jax.sharding.PartitionSpec()


def test_mesh_rejects_indivisible_batch(tfds_dir):
  cfg = small_config(tfds_dir, batch_size=6)
  with pytest.raises(ValueError, match="divisible by the 8 devices"):
    sharding.make_mesh(cfg)
