"""A jitted forward+backward of the tiny config learns one batch of random targets."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from msposejax.codecs import render_multiscale
from msposejax.losses import make_loss_fn
from msposejax.models import pose_net_from_config


def test_tiny_model_overfits_one_batch(tiny_config):
  cfg = tiny_config
  rng = np.random.default_rng(0)
  images = jnp.asarray(rng.uniform(size=(4, 64, 64, 3)), jnp.float32)
  rendered = [render_multiscale(rng.uniform(4, 60, (16, 2)), np.ones(16), 64, (16, 8), (1, 1))
              for _ in range(4)]
  targets = {r: jnp.asarray(np.stack([t[r] for t, _ in rendered])) for r in (16, 8)}
  weights = jnp.asarray(np.stack([w for _, w in rendered]))
  model = pose_net_from_config(cfg.model)
  variables = model.init(jax.random.key(0), images)
  loss_fn = make_loss_fn(cfg)
  tx = optax.adam(2e-3)
  opt_state = tx.init(variables["params"])

  @jax.jit
  def step(params, batch_stats, opt_state):
    def objective(p):
      out, new = model.apply({"params": p, "batch_stats": batch_stats}, images, train=True,
                             mutable=["batch_stats"])
      total, terms = loss_fn(out, targets, weights)
      return total, (terms, new["batch_stats"])
    (loss, (terms, batch_stats)), grads = jax.value_and_grad(objective, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), batch_stats, opt_state, loss, terms

  params, batch_stats = variables["params"], variables["batch_stats"]
  losses = []
  for _ in range(30):
    params, batch_stats, opt_state, loss, terms = step(params, batch_stats, opt_state)
    losses.append(float(loss))
  assert np.all(np.isfinite(losses))
  assert losses[-1] < 0.6 * losses[0], losses
  assert float(terms["loss/msr"]) > 0
