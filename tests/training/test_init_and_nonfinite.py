"""init_from (stage 1 → stage 2 with a report), non-finite loss stop, best-checkpoint keep."""

import itertools
import json

import jax
import numpy as np
import pytest

from msposejax.data.stream_position import stream_start
from msposejax.state import checkpointing
from msposejax.training import sharding
from msposejax.training.loop import NonFiniteLossError, train
from tests.training.conftest import SMALL_TRAININGS, small_config

pytestmark = SMALL_TRAININGS


def test_stage2_initialises_from_stage1_and_reports_new_modules(tmp_path, tfds_dir, capsys):
  stage1 = small_config(tfds_dir, total_steps=2, log_every=1, eval_num_examples=8,
                        **{"model.msr": False})
  train(stage1, tmp_path / "stage1")
  stage2 = small_config(tfds_dir, total_steps=1, log_every=1, eval_num_examples=8,
                        init_from=str(tmp_path / "stage1"))
  from msposejax.training.trainer import Trainer
  trainer = Trainer(stage2, tmp_path / "stage2")
  state = trainer.init_state()
  out = capsys.readouterr().out
  assert "arrays loaded" in out and "(new modules: msr)" in out
  with checkpointing.Checkpointer(tmp_path / "stage1", read_only=True) as ckpt:
    src = ckpt.restore(2, Trainer(stage1, tmp_path / "stage1").abstract_state)
  np.testing.assert_array_equal(state.params["stack0"]["out"]["conv"]["kernel"],
                                src.params["stack0"]["out"]["conv"]["kernel"])
  assert "msr" in state.params and int(state.step) == 0
  # Each stage continues the seed's stream after all that its ancestors drew (batch 8).
  assert stream_start(stage2, checkpointing.saved_config_of(stage2.init_from)) == 2 * 8
  train(stage2, tmp_path / "stage2")
  stage3 = small_config(tfds_dir, total_steps=1, init_from=str(tmp_path / "stage2"))
  assert stream_start(stage3, checkpointing.saved_config_of(stage3.init_from)) == 2 * 8 + 1 * 8
  with stage3.unlocked():
    stage3.data.stream_start = 5
  assert stream_start(stage3) == 5


def test_non_finite_loss_stops_with_the_step_and_keeps_the_last_good_state(
    tmp_path, tfds_dir, monkeypatch):
  # The third batch carries NaN joint weights, so its loss and gradients are NaN, as a
  # diverging run's are (the loop sees the step's `nonfinite` flag either way). Poisoning one
  # known batch names the step to expect, and the run keeps the other trainings' settings
  # (a huge learning rate would be a program of its own to compile).
  calls = itertools.count(1)

  def global_batch(batch, mesh):
    if next(calls) == 3:
      batch = {**batch, "weights": np.full_like(batch["weights"], np.nan)}
    return real_global_batch(batch, mesh)

  real_global_batch = sharding.global_batch
  monkeypatch.setattr(sharding, "global_batch", global_batch)
  cfg = small_config(tfds_dir, total_steps=6, log_every=1, **{"checkpoint.every": 1})
  with pytest.raises(NonFiniteLossError, match=r"non-finite loss at step 3: terms \['loss/.*"
                     r"the state was not updated; last checkpoint: 2$"):
    train(cfg, tmp_path / "nan")
  from msposejax.training.trainer import Trainer
  with checkpointing.Checkpointer(tmp_path / "nan", read_only=True) as ckpt:
    assert ckpt.steps() == [1, 2]
    state = ckpt.restore(2, Trainer(cfg, tmp_path).abstract_state)
  # Checkpoints never hold the non-finite update.
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(jax.device_get(
      (state.params, state.batch_stats))))


def test_best_checkpoint_is_kept_beside_the_latest(tmp_path, tfds_dir):
  cfg = small_config(tfds_dir, total_steps=6, log_every=2, eval_every=2, eval_num_examples=8,
                     **{"checkpoint.every": 2, "checkpoint.keep": 1})
  train(cfg, tmp_path / "run")
  with checkpointing.Checkpointer(tmp_path / "run", read_only=True) as ckpt:
    steps, best = ckpt.steps(), ckpt.best_step()
    final_metric = ckpt.metric(6)
  # The final step is saved with the final evaluation's headline metric, so best-N ranks it.
  final = json.loads((tmp_path / "run" / "final_metrics.json").read_text())
  assert final_metric == final["pckh@0.5"]["mean"]
  assert best in steps and 6 in steps
  assert len(steps) <= 2


def test_a_weights_only_checkpoint_starts_a_training_but_is_never_resumed(tmp_path, tfds_dir):
  """What import-torch writes (weights and config, no optimizer state)."""
  from msposejax.models import pose_net_from_config
  from msposejax.state.variables import abstract_variables
  cfg = small_config(tfds_dir, total_steps=1, eval_num_examples=8)
  rng = np.random.default_rng(0)
  variables = jax.tree.map(lambda a: rng.normal(size=a.shape).astype(a.dtype),
                           abstract_variables(pose_net_from_config(cfg.model), cfg.input_size))
  with checkpointing.Checkpointer(tmp_path / "imported", cfg) as ckpt:
    ckpt.save_variables(variables)
  with checkpointing.Checkpointer(tmp_path / "imported", read_only=True) as fresh:
    assert fresh.holds_weights_only(0)
    restored = fresh.restore_variables(0, abstract_variables(
        pose_net_from_config(cfg.model), cfg.input_size,
        jax.sharding.SingleDeviceSharding(jax.devices()[0])))
  np.testing.assert_array_equal(restored["params"]["pre_conv"]["bn"]["bias"],
                                variables["params"]["pre_conv"]["bn"]["bias"])
  with pytest.raises(ValueError, match="holds weights only .* --config.init_from="):
    train(cfg, tmp_path / "imported")
