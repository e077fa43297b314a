"""Losses against independent NumPy loops (not our jnp code twice)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from msposejax import skeleton
from msposejax.losses import heatmap_mse, make_loss_fn, structure_aware_loss


def random_case(seed, b=3, h=8, w=6, k=16):
  rng = np.random.default_rng(seed)
  pred = rng.normal(size=(b, h, w, k)).astype(np.float32)
  target = rng.uniform(size=(b, h, w, k)).astype(np.float32)
  weight = (rng.uniform(size=(b, k)) > 0.3).astype(np.float32)
  return pred, target, weight


def numpy_mse(pred, target, weight):
  b, h, w, k = pred.shape
  total = 0.0
  for n in range(b):
    for j in range(k):
      total += weight[n, j] * np.sum((pred[n, :, :, j] - target[n, :, :, j]) ** 2)
  return total / (b * h * w * k)


def numpy_structure(pred, target, weight, alpha):
  """Literal DESIGN §3: per sample (1/K) Σ_i ‖P_i−G_i‖ + α‖P_{S_i}−G_{S_i}‖, then mean."""
  b, _, _, k = pred.shape
  sets = skeleton.MPII.neighbour_sets()
  losses = []
  for n in range(b):
    res = [(pred[n, :, :, j] - target[n, :, :, j]) * weight[n, j] for j in range(k)]
    terms = []
    for i in range(k):
      own = np.sqrt(np.sum(res[i] ** 2))
      group = np.sqrt(np.sum(np.stack([res[j] for j in sets[i]]) ** 2))
      terms.append(own + alpha * group)
    losses.append(np.mean(terms))
  return np.mean(losses)


MPII_A = np.asarray(skeleton.MPII.neighbour_matrix(), np.float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_mse_matches_numpy(seed):
  pred, target, weight = random_case(seed)
  np.testing.assert_allclose(heatmap_mse(pred, target, weight), numpy_mse(pred, target, weight),
                             rtol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 2.0])
def test_structure_matches_numpy(alpha):
  pred, target, weight = random_case(3)
  got = structure_aware_loss(pred, target, weight, MPII_A, alpha=alpha)
  np.testing.assert_allclose(got, numpy_structure(pred, target, weight, alpha), rtol=1e-5)


def test_masked_joint_contributes_nothing():
  pred, target, weight = random_case(4)
  weight[:, 10] = 0.0  # r_wrist masked: changing its prediction must not change either loss
  pred2 = pred.copy()
  pred2[:, :, :, 10] += 100.0
  for fn in (heatmap_mse, lambda *a: structure_aware_loss(*a, MPII_A)):
    np.testing.assert_allclose(fn(pred, target, weight), fn(pred2, target, weight), rtol=1e-6)


def test_neighbour_group_couples_joints():
  """An error on the elbow alone raises the wrist's and shoulder's group terms."""
  k = 16
  target = np.zeros((1, 4, 4, k), np.float32)
  pred = target.copy()
  pred[0, 0, 0, 11] = 2.0  # r_elbow: residual norm 2
  weight = np.ones((1, k), np.float32)
  # own: only the elbow has 2. group: every i with 11 ∈ S_i (wrist 10, elbow 11, shoulder 12).
  expected = (2.0 + 0.5 * 2.0 * 3) / k
  np.testing.assert_allclose(structure_aware_loss(pred, target, weight, MPII_A), expected, rtol=1e-5)


def test_gradients_finite_and_nonzero_even_at_zero_residual():
  pred, target, weight = random_case(5)
  pred[:, :, :, 3] = target[:, :, :, 3]  # exact zero residual for one joint
  for fn in (heatmap_mse, lambda p, g, w: structure_aware_loss(p, g, w, MPII_A)):
    g = jax.grad(fn)(jnp.asarray(pred), target, weight)
    assert bool(jnp.all(jnp.isfinite(g)))
    assert float(jnp.abs(g).sum()) > 0


@pytest.mark.parametrize("bad", ["shape", "weight"])
def test_bad_shapes_get_clear_error(bad):
  pred, target, weight = random_case(6)
  if bad == "shape":
    target = target[:, :4]
  else:
    weight = weight[:, :15]
  with pytest.raises(ValueError, match="weight|same shape"):
    heatmap_mse(pred, target, weight)


def test_total_loss_sums_named_terms(tiny_config):
  cfg = tiny_config
  rng = np.random.default_rng(7)
  outputs = {"stacks": tuple({16: rng.normal(size=(2, 16, 16, 16)).astype(np.float32),
                              8: rng.normal(size=(2, 8, 8, 16)).astype(np.float32)}
                             for _ in range(2)),
             "final": rng.normal(size=(2, 16, 16, 16)).astype(np.float32)}
  targets = {r: rng.uniform(size=(2, r, r, 16)).astype(np.float32) for r in (16, 8)}
  weights = np.ones((2, 16), np.float32)
  with cfg.unlocked():
    cfg.loss.scale_weights = (1.0, 0.5)
    cfg.loss.intermediate = "mse"
  total, terms = jax.jit(make_loss_fn(cfg))(outputs, targets, weights)
  assert set(terms) == {"loss/stack0_r16", "loss/stack0_r8", "loss/stack1_r16",
                        "loss/stack1_r8", "loss/msr", "loss/total"}
  expected = 0.0
  for s in range(2):
    expected += numpy_mse(outputs["stacks"][s][16], targets[16], weights)
    expected += 0.5 * numpy_mse(outputs["stacks"][s][8], targets[8], weights)
  expected += numpy_structure(outputs["final"], targets[16], weights, 0.5)
  np.testing.assert_allclose(total, expected, rtol=1e-5)
  np.testing.assert_allclose(terms["loss/total"], total)
