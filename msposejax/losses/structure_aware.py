"""Structure-aware loss (paper Sect. 3.3, docs/method.md §3)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from msposejax.losses.checks import check_heatmaps

# sqrt(x + eps) keeps the gradient finite where a residual is exactly zero (e.g. masked joints).
_EPS = 1e-12


def structure_aware_loss(pred: jax.Array, target: jax.Array, weight: jax.Array,
                         neighbours: np.ndarray, alpha: float = 0.5) -> jax.Array:
  """L_SA = mean_B (1/K) Σ_i [ ‖P_i − G_i‖₂ + α ‖P_{S_i} − G_{S_i}‖₂ ].

  ‖P_{S_i} − G_{S_i}‖₂ is the L2 norm of the residual of the whole neighbour group S_i (all
  its heatmaps stacked), so a joint is matched together with its skeleton neighbours.
  Masked joints (w = 0) contribute no residual, to their own term or to any group.

  Args:
    pred: (B, H, W, K) predicted heatmaps.
    target: (B, H, W, K) ground truth.
    weight: (B, K) joint weights in {0, 1}.
    neighbours: (K, K) 0/1 matrix, A[i, j] = 1 iff j ∈ S_i (`Skeleton.neighbour_matrix()`).
    alpha: weight of the neighbour-group term.

  Returns:
    Scalar float32.
  """
  check_heatmaps("structure_aware_loss", pred, target, weight)
  k = pred.shape[-1]
  neighbours = jnp.asarray(neighbours, jnp.float32)
  if neighbours.shape != (k, k):
    raise ValueError(f"structure_aware_loss: neighbours must be (K, K) = ({k}, {k}), "
                     f"got {neighbours.shape}")
  residual = (pred.astype(jnp.float32) - target.astype(jnp.float32))
  residual = residual * weight[:, None, None, :].astype(jnp.float32)
  sq = jnp.sum(jnp.square(residual), axis=(1, 2))            # (B, K): ‖P_j − G_j‖²
  own = jnp.sqrt(sq + _EPS)
  group = jnp.sqrt(sq @ neighbours.T + _EPS)                  # (B, K): Σ_{j∈S_i} ‖P_j − G_j‖²
  return jnp.mean(jnp.mean(own + alpha * group, axis=-1))
