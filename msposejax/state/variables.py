"""A model's variables: their shapes, dtypes and placement without computing them, their
initial values, and how another checkpoint's variables fit them (pure)."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import flax.traverse_util
import jax
import jax.numpy as jnp

from msposejax.input_size import input_hw


def abstract_variables(model: nn.Module, input_size: int | tuple[int, int],
                       sharding: jax.sharding.Sharding | Any | None = None) -> dict[str, Any]:
  """{"params", "batch_stats"} of `model` as ShapeDtypeStructs (no compilation, no memory).

  Args:
    model: a pose network (`models.pose_net_from_config`).
    input_size: n of its (B, n, n, 3) input or (H, W) of a (B, H, W, 3) one
      (`config.input_size`); the variables do not depend on B.
    sharding: one sharding for every leaf, or a pytree of shardings like the variables, or
      None (no placement).
  """
  h, w = input_hw(input_size)
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, h, w, 3))))
  shapes = {"params": shapes["params"], "batch_stats": shapes.get("batch_stats", {})}
  if sharding is None:
    return shapes
  if isinstance(sharding, jax.sharding.Sharding):
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sharding),
                        shapes)
  return jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), shapes,
                      sharding)


def init_variables(model: nn.Module, input_size: int | tuple[int, int], seed: int
                   ) -> dict[str, Any]:
  """{"params", "batch_stats"} of `model` initialised from `seed`, on the default device.

  Not jitted, on purpose: a jitted `model.init` is one program holding every initializer's
  random-number code (threefry and the truncated normal's inverse erf, for each of the ~530
  arrays), whose compile time grows faster than the program, on JAX 0.12 much faster (times
  in docs/benchmarks.md, "Start-up"). Run op by op, each initializer compiles once per shape
  and dtype and is cached; the values are the jitted init's (the same bits on JAX 0.12,
  within one float32 ulp on 0.10; tests/state/test_variables.py).
  """
  h, w = input_hw(input_size)  # n, or (H, W) as `config.input_size`
  variables = model.init(jax.random.key(seed), jnp.zeros((1, h, w, 3), jnp.float32))
  return {"params": variables["params"], "batch_stats": variables.get("batch_stats", {})}


def load_partial(target: dict, source: dict) -> tuple[dict, list[str], list[str]]:
  """Copies every `source` leaf whose path and shape match into `target`.

  Returns (merged, loaded paths, new paths). Used by `config.init_from` (a stage-1 MSS
  checkpoint initialising the stage-2 MSS+MSR model: the MSR-net is new).
  """
  flat_t = flax.traverse_util.flatten_dict(target, sep="/")
  flat_s = flax.traverse_util.flatten_dict(source, sep="/")
  loaded, new = [], []
  for key, value in flat_t.items():
    if key in flat_s and flat_s[key].shape == value.shape:
      flat_t[key] = jax.device_put(flat_s[key], value.sharding) if hasattr(value, "sharding") \
          else flat_s[key]
      loaded.append(key)
    else:
      new.append(key)
  return flax.traverse_util.unflatten_dict(flat_t, sep="/"), loaded, new


def check_same_arrays(saved: dict, wanted: dict, step: int) -> None:
  """Raises ValueError naming the arrays of {"params", "batch_stats"} that a checkpoint step
  holds (`saved`) and the model lacks (`wanted`), and those it lacks: a partial restore
  drops arrays the model lacks without a word (a config edited to `msr=false` beside MSR-net's
  arrays changed the keypoints silently)."""
  names = lambda t: {"/".join(map(str, k)) for part in ("params", "batch_stats")
                     for k in flax.traverse_util.flatten_dict({part: t.get(part, {})})}
  extra, missing = sorted(names(saved) - names(wanted)), sorted(names(wanted) - names(saved))
  if extra or missing:
    first = lambda v: f"{', '.join(v[:2])}{', …' if len(v) > 2 else ''}"
    raise ValueError("; ".join(text for text in (
        extra and f"step {step} holds {len(extra)} arrays the model has not ({first(extra)})",
        missing and f"step {step} lacks {len(missing)} arrays of the model "
                    f"({first(missing)})") if text))
