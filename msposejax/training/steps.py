"""The pure train step (jit it with the shardings of `training.sharding`); the predict step
is `inference.predict_step`."""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from msposejax.inference.predict_step import to_float_images
from msposejax.losses.total import LossFn
from msposejax.state.train_state import TrainState


def make_train_step(model: nn.Module, tx: optax.GradientTransformation, loss_fn: LossFn,
                    schedule: optax.Schedule) -> Callable[[TrainState, dict], tuple]:
  """Returns train_step(state, batch) → (state, metrics).

  batch: {"image": (B,H,W,3) uint8, "targets": {r: (B,r,r,K)}, "weights": (B,K),
  "valid": (B,)}. A step whose loss or gradient is non-finite leaves the state unchanged
  and reports `nonfinite=1`, so the loop can stop with the last good state intact.
  """

  def train_step(state: TrainState, batch: dict) -> tuple[TrainState, dict[str, Any]]:
    images = to_float_images(batch["image"])

    def objective(params):
      outputs, updates = model.apply({"params": params, "batch_stats": state.batch_stats},
                                     images, train=True, mutable=["batch_stats"])
      total, terms = loss_fn(outputs, batch["targets"], batch["weights"])
      return total, (terms, updates["batch_stats"])

    (loss, (terms, batch_stats)), grads = jax.value_and_grad(objective, has_aux=True)(
        state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    grad_norm = optax.tree_utils.tree_norm(grads)
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
    new = TrainState(step=state.step + 1, params=params, batch_stats=batch_stats,
                     opt_state=opt_state)
    new = jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, state)
    new = new.replace(step=state.step + 1)
    metrics = {**terms, "grad_norm": grad_norm, "learning_rate": schedule(state.step),
               "data/valid_fraction": jnp.mean(batch["valid"].astype(jnp.float32)),
               "nonfinite": 1.0 - finite.astype(jnp.float32)}
    return new, metrics

  return train_step
