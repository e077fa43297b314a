"""The training objective: multi-scale supervision over all stacks (+ MSR-net output)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from msposejax import skeleton
from msposejax.codecs.multiscale import MultiScaleCodec
from msposejax.input_size import input_hw
from msposejax.losses.heatmap_mse import heatmap_mse
from msposejax.losses.structure_aware import structure_aware_loss

LOSS_KINDS = ("mse", "structure")
LossFn = Callable[[Mapping[str, Any], Mapping[int, jax.Array], jax.Array],
                  tuple[jax.Array, dict[str, jax.Array]]]


def _term_fn(kind: str, field: str, alpha: float, neighbours: np.ndarray):
  if kind == "mse":
    return heatmap_mse
  if kind == "structure":
    return lambda p, g, w: structure_aware_loss(p, g, w, neighbours, alpha)
  raise ValueError(f"config.loss.{field}={kind!r} is not one of {LOSS_KINDS}")


def zero_prediction_losses(config: ml_collections.ConfigDict) -> dict[int, float]:
  """{r: the intermediate loss of an all-zero prediction at resolution r}.

  The target has every joint at the crop's centre, rendered with that resolution's σ. The
  MSE is a per-pixel mean, so this is ∝ σ_r²/r² (coarse maps cost far more), and the
  structure-aware loss is a norm, ∝ σ_r; it is how loudly each resolution speaks before the
  network has learnt anything.
  """
  neighbours = np.asarray(skeleton.from_config(config).neighbour_matrix(), np.float32)
  term = _term_fn(config.loss.intermediate, "intermediate", config.loss.structure_alpha,
                  neighbours)
  k, (h, w) = config.model.num_joints, input_hw(config)
  centre = np.tile(np.array([(w - 1) / 2, (h - 1) / 2]), (k, 1))
  targets, _ = MultiScaleCodec.from_config(config).encode(centre, np.ones(k, bool))
  ones = jnp.ones((1, k), jnp.float32)
  return {r: float(term(jnp.zeros((1, *g.shape), jnp.float32), jnp.asarray(g)[None], ones))
          for r, g in targets.items()}


def scale_weights(config: ml_collections.ConfigDict) -> dict[int, float]:
  """{r: the weight of every stack's loss term at resolution r}, full resolution first.

  λ_r = config.loss.scale_weights[log2(H / r)], times, with `config.loss.balance_scales`,
  L0(H) / L0(r) where L0 is `zero_prediction_losses`: every resolution then has the same say at
  the start (the full resolution's weight is unchanged), instead of the coarsest head
  taking most of the loss (docs/method.md §3 works out the shares).
  """
  resolutions = MultiScaleCodec.from_config(config).resolutions
  given = tuple(float(w) for w in config.loss.scale_weights)
  if len(given) < len(resolutions):
    raise ValueError(f"config.loss.scale_weights has {len(given)} entries; the model predicts "
                     f"{len(resolutions)} resolution(s)")
  weights = {r: given[level] for level, r in enumerate(resolutions)}
  if config.loss.balance_scales:
    zero = zero_prediction_losses(config)
    full = resolutions[0]
    weights = {r: w * zero[full] / zero[r] for r, w in weights.items()}
  return weights


def loss_shares(terms: Mapping[str, float], weights: Mapping[int, float]) -> dict[str, float]:
  """{"r64": share, ..., ["msr": share]}: each resolution's part of the total (all stacks).

  Args:
    terms: the loss function's terms (host floats), "loss/stack{s}_r{r}" and "loss/msr".
    weights: `scale_weights(config)`; "loss/msr" is weighed by msr_weight inside the total,
      which is recovered as the remainder.
  """
  total = float(terms["loss/total"])
  shares: dict[str, float] = {}
  for key, value in terms.items():
    if key.startswith("loss/stack"):
      res = int(key.rsplit("_r", 1)[1])
      shares[f"r{res}"] = shares.get(f"r{res}", 0.0) + weights[res] * float(value) / total
  if "loss/msr" in terms:
    shares["msr"] = 1.0 - sum(shares.values())
  return shares


def make_loss_fn(config: ml_collections.ConfigDict) -> LossFn:
  """Returns `loss_fn(outputs, targets, weights) -> (total, terms)`.

  total = Σ_stacks Σ_r λ_r · L_inter(P^r, G^r) [+ λ_msr · L_final(P^final, G^H)], with
  λ_r from `scale_weights` (config.loss.scale_weights, balanced by default).

  Args of the returned function:
    outputs: PoseNet's output, {"stacks": ({r: (B, r, r·W/H, K)}, ...), "final": (B, H/4,
      W/4, K)}, keyed by each map's height r.
    targets: {r: (B, r, r·W/H, K)} ground truth at (at least) every resolution the model
      predicts.
    weights: (B, K) joint weights.

  Returns of the returned function:
    total: scalar float32.
    terms: {"loss/stack{s}_r{r}": scalar (unweighted), ["loss/msr": scalar,]
      "loss/total": scalar}.
  """
  loss_cfg = config.loss
  neighbours = np.asarray(skeleton.from_config(config).neighbour_matrix(), np.float32)
  inter = _term_fn(loss_cfg.intermediate, "intermediate", loss_cfg.structure_alpha, neighbours)
  final = _term_fn(loss_cfg.final, "final", loss_cfg.structure_alpha, neighbours)
  lambdas = scale_weights(config)
  use_msr = bool(config.model.msr)
  msr_weight = float(loss_cfg.msr_weight)

  def loss_fn(outputs, targets, weights):
    terms = {}
    total = jnp.zeros((), jnp.float32)
    for s, heatmaps in enumerate(outputs["stacks"]):
      for res, pred in heatmaps.items():
        if res not in targets:
          raise ValueError(f"no target at resolution {res} (targets have {sorted(targets)})")
        if res not in lambdas:
          raise ValueError(f"the model predicts resolution {res}, the config only "
                           f"{sorted(lambdas)}")
        term = inter(pred, targets[res], weights)
        terms[f"loss/stack{s}_r{res}"] = term
        total = total + lambdas[res] * term
    if use_msr:
      pred = outputs["final"]
      term = final(pred, targets[pred.shape[1]], weights)
      terms["loss/msr"] = term
      total = total + msr_weight * term
    terms["loss/total"] = total
    return total, terms

  return loss_fn
