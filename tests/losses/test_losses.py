"""Losses against independent NumPy loops (not our jnp code twice)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from msposejax import skeleton
from msposejax.losses import heatmap_mse, make_loss_fn, structure_aware_loss
from tests.test_skeleton import MPII_NEIGHBOURS


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
  """docs/method.md §3 literally: per sample (1/K) Σ_i ‖P_i−G_i‖ + α‖P_{S_i}−G_{S_i}‖."""
  b, _, _, k = pred.shape
  # The neighbour sets written out by hand (tests/test_skeleton.py), not the code's.
  j = skeleton.MPII.joint_index
  sets = [[j[name]] + [j[o] for o in MPII_NEIGHBOURS[name]] for name in skeleton.MPII.joint_names]
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
    cfg.loss.balance_scales = False
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


@pytest.mark.parametrize("kind", ["mse", "structure"])
def test_balanced_scale_weights_give_every_scale_the_same_say(kind):
  from msposejax.config_files import load_config
  from msposejax.losses.total import loss_shares, scale_weights, zero_prediction_losses
  from tests.conftest import REPO
  cfg = load_config(REPO / "configs" / "default.py")  # 64/32/16/8 px maps, sigma 1
  with cfg.unlocked():
    cfg.loss.intermediate = kind
    cfg.targets.sigma_per_scale = (2.0, 1.5, 1.0, 1.0)
    cfg.loss.scale_weights = (1.0, 1.0, 0.5, 1.0)
  lam = scale_weights(cfg)
  # A Gaussian exp(-d²/2σ²) has Σ G² ≈ πσ² on a grid of σ ≥ 1, so a zero prediction costs
  # πσ²/r² per pixel in the MSE (mean over the map) and √(πσ²)·const in the structure loss.
  sigma = dict(zip((64, 32, 16, 8), cfg.targets.sigma_per_scale))
  raw = dict(zip((64, 32, 16, 8), cfg.loss.scale_weights))
  zero = ({r: s**2 / r**2 for r, s in sigma.items()} if kind == "mse" else dict(sigma))
  for r in (64, 32, 16, 8):
    np.testing.assert_allclose(lam[r], raw[r] * zero[64] / zero[r], rtol=2e-3)
  # Unbalanced, the 8-px head would take most of a zero prediction's loss.
  z = zero_prediction_losses(cfg)
  shares = loss_shares({**{f"loss/stack0_r{r}": z[r] for r in z},
                        "loss/total": sum(lam[r] * z[r] for r in z)}, lam)
  expected = np.array([raw[r] for r in (64, 32, 16, 8)]) / sum(raw.values())
  np.testing.assert_allclose([shares[f"r{r}"] for r in (64, 32, 16, 8)], expected, rtol=1e-5)
  with cfg.unlocked():
    cfg.loss.balance_scales = False
  assert scale_weights(cfg) == raw
  if kind == "mse":
    raw_shares = np.array([z[r] * raw[r] for r in (64, 32, 16, 8)])
    assert raw_shares[-1] / raw_shares.sum() > 0.6


@pytest.mark.parametrize("alpha", [0.0, 2.0])
def test_total_loss_uses_the_configs_alpha_for_both_structure_terms(tiny_config, alpha):
  cfg = tiny_config
  rng = np.random.default_rng(8)
  outputs = {"stacks": ({16: rng.normal(size=(2, 16, 16, 16)).astype(np.float32),
                         8: rng.normal(size=(2, 8, 8, 16)).astype(np.float32)},),
             "final": rng.normal(size=(2, 16, 16, 16)).astype(np.float32)}
  targets = {r: rng.uniform(size=(2, r, r, 16)).astype(np.float32) for r in (16, 8)}
  weights = (rng.uniform(size=(2, 16)) > 0.2).astype(np.float32)
  with cfg.unlocked():
    cfg.loss.scale_weights = (1.0, 1.0)
    cfg.loss.balance_scales = False
    cfg.loss.intermediate = cfg.loss.final = "structure"
    cfg.loss.structure_alpha = alpha
    cfg.loss.msr_weight = 1.0
  total, _ = make_loss_fn(cfg)(outputs, targets, weights)
  expected = sum(numpy_structure(outputs["stacks"][0][r], targets[r], weights, alpha)
                 for r in (16, 8)) + numpy_structure(outputs["final"], targets[16], weights, alpha)
  np.testing.assert_allclose(total, expected, rtol=1e-5)
