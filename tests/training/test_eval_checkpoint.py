"""`msposejax eval` without a config: the checkpoint's own saved config is used."""

import json
import shutil

from msposejax.training.eval_checkpoint import evaluate_checkpoint
from tests.training.conftest import SMALL_TRAININGS


@SMALL_TRAININGS
def test_eval_without_a_config_uses_the_checkpoints_own(tiny_run, tmp_path, capsys):
  workdir = tmp_path / "w"
  shutil.copytree(tiny_run[0], workdir)
  final = json.loads((workdir / "final_metrics.json").read_text())  # the training's evaluation
  report = evaluate_checkpoint(None, workdir, step=4)
  assert report["step"] == 4
  # The same crops (eval_num_examples=8 travels with the checkpoint) and weights as the final
  # evaluation of the training that wrote step 4: the same PCKh.
  assert report["pckh@0.5"]["mean"] == final["pckh@0.5"]["mean"]
  assert json.loads((workdir / "eval_step4.json").read_text())["step"] == 4
  # The console says which step was evaluated and where its report went.
  assert f"step 4 of {workdir}: wrote {workdir / 'eval_step4.json'}" in capsys.readouterr().out


def test_a_saved_fsdp_size_these_devices_cannot_hold_becomes_replication():
  import jax
  import ml_collections
  from msposejax.training.eval_checkpoint import _as_eval_config
  n = jax.device_count()  # 8 fake CPU devices in the tests
  for saved, want in ((n, n), (1, 1), (n + 1, 1)):
    config = _as_eval_config(ml_collections.ConfigDict({"mesh": {"fsdp": saved}}))
    assert config.mesh.fsdp == want
