"""The best checkpoint is the step with the highest headline metric, against known metric
sequences (NaN and missing metrics rank last); the latest `keep` steps are kept beside it."""

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from msposejax.state import checkpointing


@flax.struct.dataclass
class TinyState:
  step: jax.Array
  params: dict


def run(workdir, metrics_by_step, keep=2):
  """Saves one tiny state per step with its metrics (None: saved without any)."""
  config = ml_collections.ConfigDict({"checkpoint": {"keep": keep}})
  with checkpointing.Checkpointer(workdir, config) as ckpt:
    for step, value in metrics_by_step.items():
      state = TinyState(step=jnp.int32(step), params={"w": jnp.full((2,), float(step))})
      metrics = None if value is None else {"pckh@0.5": value}  # the one headline metric
      ckpt.save(state, metrics=metrics, force=True)
    ckpt.wait_until_finished()
    return ckpt.best_step(), ckpt.steps()


@pytest.mark.parametrize("sequence, best, kept", [
    # A peak in the middle: the best step is kept beside the latest two.
    ({1: 0.2, 2: 0.6, 3: 0.4, 4: 0.5, 5: 0.3}, 2, [2, 4, 5]),
    # Rising: the best is the latest.
    ({1: 0.1, 2: 0.2, 3: 0.3}, 3, [2, 3]),
    # A NaN evaluation ranks last, below every number (0 included); a lower metric saved
    # later does not replace the best.
    ({1: 0.0, 2: float("nan"), 3: 0.7, 4: 0.69, 5: 0.1}, 3, [3, 4, 5]),
    # Steps without metrics are never "best".
    ({1: None, 2: 0.3, 3: None, 4: None}, 2, [2, 3, 4]),
], ids=["peak", "rising", "nan", "no-metrics"])
def test_best_step_is_the_highest_metric(tmp_path, sequence, best, kept):
  assert run(tmp_path, sequence) == (best, kept)
  # What `eval`, `predict` and `init_from` load: the best step, or the latest when asked.
  assert checkpointing.resolve(tmp_path)[1] == best
  assert checkpointing.resolve(tmp_path, prefer_best=False)[1] == max(sequence)


def test_no_step_with_a_metric_means_no_best_and_resolve_takes_the_latest(tmp_path):
  assert run(tmp_path, {1: None, 2: None}) == (None, [1, 2])
  assert checkpointing.resolve(tmp_path)[1] == 2
