"""Pure, jittable heatmap losses (docs/method.md §3)."""

from msposejax.losses.heatmap_mse import heatmap_mse
from msposejax.losses.structure_aware import structure_aware_loss
from msposejax.losses.total import LossFn, make_loss_fn

__all__ = ["heatmap_mse", "structure_aware_loss", "LossFn", "make_loss_fn"]
