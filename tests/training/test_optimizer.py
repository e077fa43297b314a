"""The learning-rate schedules and the optimizers' updates against formulas written by hand
(docs/method.md §5: RMSProp as PyTorch's for the hourglass recipe; AdamW + warm-up + cosine)."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from msposejax.training.optimizer import learning_rate_schedule, make_optimizer
from tests.conftest import REPO, load_config


def config(**optimizer):
  cfg = load_config(REPO / "configs" / "tiny.py")
  with cfg.unlocked():
    cfg.total_steps = 100
    cfg.batch_size = 16
    cfg.optimizer.base_batch_size = 0
    cfg.optimizer.grad_clip = 0.0
    for key, value in optimizer.items():
      cfg.optimizer[key] = value
  return cfg


def test_warmup_then_cosine_to_zero():
  cfg = config(schedule="cosine", learning_rate=1e-3, warmup_steps=10)
  lr = learning_rate_schedule(cfg)
  for t in (0, 5, 10, 40, 55, 99, 100):
    expected = (1e-3 * t / 10 if t < 10
                else 1e-3 * 0.5 * (1 + math.cos(math.pi * (t - 10) / 90)))
    assert float(lr(t)) == pytest.approx(expected, rel=1e-5, abs=1e-6 * 1e-3), t  # float32


def test_step_decay_and_large_batch_scaling():
  cfg = config(schedule="step", learning_rate=2e-3, warmup_steps=0, decay_steps=(30, 60),
               decay_factor=0.1, base_batch_size=4)
  lr = learning_rate_schedule(cfg)
  peak = 2e-3 * 16 / 4  # linear scaling: batch 16 on a base of 4
  for t, expected in ((0, peak), (28, peak), (32, 0.1 * peak), (58, 0.1 * peak),
                      (62, 0.01 * peak), (99, 0.01 * peak)):
    assert float(lr(t)) == pytest.approx(expected, rel=1e-5), t


def test_constant_is_constant():
  lr = learning_rate_schedule(config(schedule="constant", learning_rate=3e-4, warmup_steps=0))
  assert [float(lr(t)) for t in (0, 50, 99)] == pytest.approx([3e-4] * 3, rel=1e-6)


def test_rmsprop_is_pytorchs_update():
  # torch.optim.RMSprop(alpha=0.99, eps=1e-8): v ← 0.99 v + 0.01 g²; p ← p − lr g/(√v + eps).
  cfg = config(name="rmsprop", schedule="constant", learning_rate=0.01, warmup_steps=0)
  tx = make_optimizer(cfg)
  p = np.array([1.0, -2.0, 0.5])
  state = tx.init(jnp.asarray(p))
  v = np.zeros(3)
  for g in (np.array([0.3, -1.0, 1e-3]), np.array([-0.2, 0.5, 2.0])):
    updates, state = tx.update(jnp.asarray(g), state, jnp.asarray(p))
    v = 0.99 * v + 0.01 * g * g
    expected = p - 0.01 * g / (np.sqrt(v) + 1e-8)
    p = p + np.asarray(updates)
    np.testing.assert_allclose(p, expected, rtol=1e-5)


def test_adamw_is_the_decoupled_weight_decay_update():
  cfg = config(name="adamw", schedule="constant", learning_rate=0.01, warmup_steps=0,
               weight_decay=0.1)
  tx = make_optimizer(cfg)
  p = np.array([1.0, -2.0, 0.5])
  state = tx.init(jnp.asarray(p))
  m = v = np.zeros(3)
  for t, g in enumerate((np.array([0.3, -1.0, 1e-3]), np.array([-0.2, 0.5, 2.0])), start=1):
    updates, state = tx.update(jnp.asarray(g), state, jnp.asarray(p))
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    step = (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    expected = p - 0.01 * (step + 0.1 * p)
    p = p + np.asarray(updates)
    np.testing.assert_allclose(p, expected, rtol=1e-5)
