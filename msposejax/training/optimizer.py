"""optax optimizer and learning-rate schedule from `config.optimizer` (pure)."""

from __future__ import annotations

import ml_collections
import optax

OPTIMIZERS = ("rmsprop", "adamw")
SCHEDULES = ("constant", "cosine", "step")


def learning_rate_schedule(config: ml_collections.ConfigDict) -> optax.Schedule:
  """Warmup (linear from 0) then constant / cosine to 0 / step decay at `decay_steps`.

  The peak is `learning_rate`, times batch_size / base_batch_size when base_batch_size > 0
  (linear scaling for large-batch TPU runs).
  """
  opt = config.optimizer
  peak = opt.learning_rate
  if opt.base_batch_size > 0:
    peak *= config.batch_size / opt.base_batch_size
  total, warmup = config.total_steps, opt.warmup_steps
  if opt.schedule == "constant":
    main = optax.constant_schedule(peak)
  elif opt.schedule == "cosine":
    main = optax.cosine_decay_schedule(peak, max(total - warmup, 1))
  elif opt.schedule == "step":
    main = optax.piecewise_constant_schedule(
        peak, {int(s) - warmup: opt.decay_factor for s in opt.decay_steps})
  else:
    raise ValueError(f"config.optimizer.schedule={opt.schedule!r} is not one of {SCHEDULES}")
  if warmup <= 0:
    return main
  return optax.join_schedules([optax.linear_schedule(0.0, peak, warmup), main], [warmup])


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """RMSProp as PyTorch's (the hourglass recipe) or AdamW, with optional global-norm clipping."""
  opt = config.optimizer
  lr = learning_rate_schedule(config)
  if opt.name == "rmsprop":
    # torch.optim.RMSprop defaults: smoothing 0.99, eps 1e-8 added outside the square root.
    tx = optax.rmsprop(lr, decay=0.99, eps=1e-8, eps_in_sqrt=False)
  elif opt.name == "adamw":
    tx = optax.adamw(lr, weight_decay=opt.weight_decay)
  else:
    raise ValueError(f"config.optimizer.name={opt.name!r} is not one of {OPTIMIZERS}")
  if opt.grad_clip > 0:
    tx = optax.chain(optax.clip_by_global_norm(opt.grad_clip), tx)
  return tx
