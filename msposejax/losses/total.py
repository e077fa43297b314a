"""The training objective: multi-scale supervision over all stacks (+ MSR-net output)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from msposejax import skeleton
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


def make_loss_fn(config: ml_collections.ConfigDict) -> LossFn:
  """Returns `loss_fn(outputs, targets, weights) -> (total, terms)`.

  total = Σ_stacks Σ_r λ_r · L_inter(P^r, G^r) [+ λ_msr · L_final(P^final, G^H)], with
  λ_r = config.loss.scale_weights[log2(H / r)] (full resolution first).

  Args of the returned function:
    outputs: PoseNet's output, {"stacks": ({r: (B, r, r, K)}, ...), "final": (B, H, W, K)}.
    targets: {r: (B, r, r, K)} ground truth at (at least) every resolution the model predicts.
    weights: (B, K) joint weights.

  Returns of the returned function:
    total: scalar float32.
    terms: {"loss/stack{s}_r{r}": scalar, ["loss/msr": scalar,] "loss/total": scalar}.
  """
  loss_cfg = config.loss
  neighbours = np.asarray(skeleton.from_config(config).neighbour_matrix(), np.float32)
  inter = _term_fn(loss_cfg.intermediate, "intermediate", loss_cfg.structure_alpha, neighbours)
  final = _term_fn(loss_cfg.final, "final", loss_cfg.structure_alpha, neighbours)
  scale_weights = tuple(float(w) for w in loss_cfg.scale_weights)
  use_msr = bool(config.model.msr)
  msr_weight = float(loss_cfg.msr_weight)

  def loss_fn(outputs, targets, weights):
    terms = {}
    total = jnp.zeros((), jnp.float32)
    for s, heatmaps in enumerate(outputs["stacks"]):
      full = max(heatmaps)
      for res, pred in heatmaps.items():
        if res not in targets:
          raise ValueError(f"no target at resolution {res} (targets have {sorted(targets)})")
        level = int(round(np.log2(full / res)))
        if level >= len(scale_weights):
          raise ValueError(f"config.loss.scale_weights has {len(scale_weights)} entries; "
                           f"resolution {res} needs {level + 1}")
        term = inter(pred, targets[res], weights)
        terms[f"loss/stack{s}_r{res}"] = term
        total = total + scale_weights[level] * term
    if use_msr:
      pred = outputs["final"]
      term = final(pred, targets[pred.shape[1]], weights)
      terms["loss/msr"] = term
      total = total + msr_weight * term
    terms["loss/total"] = total
    return total, terms

  return loss_fn
