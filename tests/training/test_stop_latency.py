"""A stop (Ctrl-C, SIGTERM) waits for at most the one step in flight (issue #27, item 1):
the loop never dispatches a step while more than one is still computing."""

import jax
import jax.numpy as jnp

from msposejax.training import loop
from tests.training.conftest import SMALL_TRAININGS, small_config


@SMALL_TRAININGS
def test_at_most_one_step_is_in_flight(monkeypatch, tmp_path, tfds_dir):
  original = loop.Trainer.compile_train_step
  outputs, all_done_but_last = [], []
  # A device slower than the host, as on a real model: each step's metrics wait for ~0.3 s of
  # matrix products (dispatched asynchronously, like the step itself).
  slow = jax.jit(lambda loss: jax.lax.fori_loop(
      0, 30, lambda i, y: jnp.tanh(y @ y), jnp.full((600, 600), loss / 600))[0, 0])

  def compile_train_step(self):
    step = original(self)

    def recorded(state, batch):
      # Before step t is dispatched, every step but t − 1 has finished computing.
      all_done_but_last.append(all(leaf.is_ready() for out in outputs[:-1]
                                   for leaf in jax.tree.leaves(out)))
      state, metrics = step(state, batch)
      metrics = {**metrics, "slow": slow(metrics["loss/total"])}
      outputs.append(metrics)
      return state, metrics

    return recorded

  monkeypatch.setattr(loop.Trainer, "compile_train_step", compile_train_step)
  config = small_config(tfds_dir, total_steps=5, log_every=100, eval_every=0,
                        eval_num_examples=8, num_visualize=0)
  loop.train(config, tmp_path / "run")
  assert len(all_done_but_last) == 5 and all(all_done_but_last), all_done_but_last
