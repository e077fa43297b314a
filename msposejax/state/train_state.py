"""The training state pytree (pure data: what a checkpoint holds)."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax


@flax.struct.dataclass
class TrainState:
  """step (scalar int32), params, BatchNorm statistics and optimizer state."""
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any

  def variables(self) -> dict[str, Any]:
    """The Flax variables to `model.apply`."""
    return {"params": self.params, "batch_stats": self.batch_stats}
