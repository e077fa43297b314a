"""A model's variables without computing them: shapes, dtypes and placement (pure)."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


def abstract_variables(model: nn.Module, input_size: int,
                       sharding: jax.sharding.Sharding | Any | None = None) -> dict[str, Any]:
  """{"params", "batch_stats"} of `model` as ShapeDtypeStructs (no compilation, no memory).

  Args:
    model: a pose network (`models.pose_net_from_config`).
    input_size: n of its (B, n, n, 3) input; the variables do not depend on B.
    sharding: one sharding for every leaf, or a pytree of shardings like the variables, or
      None (no placement).
  """
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0),
                                             jnp.zeros((1, input_size, input_size, 3))))
  shapes = {"params": shapes["params"], "batch_stats": shapes.get("batch_stats", {})}
  if sharding is None:
    return shapes
  if isinstance(sharding, jax.sharding.Sharding):
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sharding),
                        shapes)
  return jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), shapes,
                      sharding)
