"""Device mesh, parameter/batch shardings and global batch assembly (touches devices).

Mesh axes ("data", "fsdp"). Parameters are replicated by default; with `config.mesh.fsdp`
> 1 each parameter's largest dimension divisible by the fsdp size is sharded over "fsdp"
(others stay replicated). The batch is sharded over both axes, so BatchNorm statistics and
losses inside the jitted step are over the global batch.
"""

from __future__ import annotations

from typing import Any

import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


def make_mesh(config: ml_collections.ConfigDict, devices=None) -> Mesh:
  devices = list(devices if devices is not None else jax.devices())
  fsdp = config.mesh.fsdp
  if fsdp < 1 or len(devices) % fsdp:
    raise ValueError(f"config.mesh.fsdp={fsdp} must divide the {len(devices)} devices")
  data = len(devices) // fsdp
  if config.batch_size % (data * fsdp):
    raise ValueError(f"config.batch_size={config.batch_size} must be divisible by the "
                     f"{data * fsdp} devices")
  eval_global = config.eval_batch_size * jax.process_count()
  if config.eval_batch_size < 1 or eval_global % (data * fsdp):
    raise ValueError(f"config.eval_batch_size={config.eval_batch_size} (per process) times the "
                     f"{jax.process_count()} processes must be divisible by the {data * fsdp} "
                     "devices")
  if config.batch_size % jax.process_count():
    raise ValueError(f"config.batch_size={config.batch_size} must be divisible by the "
                     f"{jax.process_count()} processes")
  return Mesh(np.asarray(devices).reshape(data, fsdp), ("data", "fsdp"))


def _param_spec(shape: tuple[int, ...], fsdp: int, min_size: int) -> P:
  if fsdp <= 1 or int(np.prod(shape)) < min_size:
    return P()
  for axis in np.argsort(shape)[::-1]:
    if shape[axis] % fsdp == 0:
      spec = [None] * len(shape)
      spec[axis] = "fsdp"
      return P(*spec)
  return P()


def state_shardings(abstract_state: Any, mesh: Mesh, min_fsdp_size: int = 2**14) -> Any:
  """NamedSharding per leaf of an abstract (eval_shape) train state."""
  fsdp = mesh.shape["fsdp"]
  return jax.tree.map(lambda x: NamedSharding(mesh, _param_spec(x.shape, fsdp, min_fsdp_size)),
                      abstract_state)


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(("data", "fsdp")))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def global_batch(local_batch: Any, mesh: Mesh) -> Any:
  """Assembles each process's host batch into global jax.Arrays sharded over the mesh."""
  sharding = batch_sharding(mesh)
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)),
                      local_batch)
