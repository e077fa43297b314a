"""Three train steps on a mesh of 8 (fake CPU) devices equal the same steps on 1 device."""

import jax
import numpy as np
import pytest

from msposejax.data import pipeline
from msposejax.training import sharding
from msposejax.training.trainer import Trainer
from tests.training.conftest import assert_params_match, small_config

STEPS = 3
# RMSProp's first step moves each parameter by ±10·lr whatever its gradient, so a near-zero
# gradient whose sign differs between reduction orders moves it 20·lr apart; at lr = 1e-3
# those parameters changed the next losses by 0.2%. At 1e-6 the losses stay equal and
# `assert_params_match` compares the parameters with the distance they moved.
LR = 1e-6
# Both parametrisations compare with one single-device run, computed once in their process.
pytestmark = pytest.mark.xdist_group("sharding")


def _run(tfds_dir, devices, fsdp):
  cfg = small_config(tfds_dir, **{"optimizer.learning_rate": LR, "mesh.fsdp": fsdp})
  assert cfg.optimizer.name == "rmsprop"
  iterator = iter(pipeline.train_loader(cfg))
  try:
    batches = [next(iterator) for _ in range(STEPS)]
  finally:
    pipeline.close(iterator)
  trainer = Trainer(cfg, "/tmp/unused", devices=devices)
  state = trainer.init_state()
  start = jax.device_get(state.params)
  step = trainer.compile_train_step()
  metrics = []
  for batch in batches:
    state, m = step(state, sharding.global_batch(batch, trainer.mesh))
    metrics.append(m)
  return state, jax.device_get((start, state.params, state.batch_stats, metrics))


@pytest.fixture(scope="module")
def one_device(tfds_dir):
  return _run(tfds_dir, jax.devices()[:1], 1)[1]


@pytest.mark.parametrize("fsdp", [1, 2])
def test_mesh_of_eight_matches_one_device(tfds_dir, one_device, fsdp):
  assert jax.device_count() == 8, "conftest sets --xla_force_host_platform_device_count=8"
  state, (start, p8, b8, m8) = _run(tfds_dir, jax.devices(), fsdp)
  kernel = state.params["stack0"]["hg"]["up1"]["conv2"]["conv"]["kernel"]
  assert len(kernel.sharding.device_set) == 8
  start1, p1, b1, m1 = one_device
  jax.tree.map(np.testing.assert_array_equal, start1, start)
  for a, b in zip(m1, m8):
    np.testing.assert_allclose(a["loss/total"], b["loss/total"], rtol=1e-5)
    np.testing.assert_allclose(a["grad_norm"], b["grad_norm"], rtol=1e-4)
  assert_params_match(start, p1, p8, LR, STEPS)
  # BatchNorm statistics over the global batch: what one device computes. After three steps
  # they average batch statistics of slightly different parameters (the sign flips that
  # `assert_params_match` allows): within 10⁻⁴ of each array's scale (measured: 1.4·10⁻⁵);
  # a statistic of one device's example instead of the batch's eight is another number.
  jax.tree.map(lambda a, b: np.testing.assert_allclose(
      a, b, rtol=1e-3, atol=1e-4 * np.abs(a).max()), b1, b8)


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
