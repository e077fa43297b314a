"""Kill -9 and resume gives the uninterrupted run (losses, final parameters, optimizer state and
metrics); SIGTERM checkpoints; bad inputs."""

import json
import re
import shutil
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

from msposejax.training.workdir_lock import WorkdirLock
from tests.conftest import REPO
from tests.training.conftest import (CLI_TRAININGS, SMALL_TRAININGS, children, cli_env,
                                   cli_overrides, leaked_shared_memory, wait_for_steps,
                                   wait_until_gone)

STEPS = 8


def launch(workdir, tfds_dir, *extra, env=None):
  args = [sys.executable, "-m", "msposejax.main", "train", "--workdir", str(workdir),
          *cli_overrides(tfds_dir), f"--config.total_steps={STEPS}", "--config.log_every=1",
          "--config.checkpoint.every=2", "--config.eval_every=0", *extra]
  return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env or cli_env())


def losses(workdir):
  by_step = {}
  for line in (workdir / "metrics.jsonl").read_text().splitlines():
    row = json.loads(line)
    if "loss/total" in row:
      by_step[row["step"]] = row["loss/total"]  # after a resume, the re-run step wins
  return by_step


@CLI_TRAININGS
def test_kill_and_resume_reproduces_the_loss_curve(tmp_path, tfds_dir):
  """kill -9 mid-run: its grain worker exits with it, it leaves no lock on the workdir, and
  the resumed run's losses are the uninterrupted run's, step for step."""
  workers = "--config.data.worker_count=1"  # the same in every run: it shapes the batches
  straight = tmp_path / "straight"
  proc = launch(straight, tfds_dir, workers)
  out, _ = proc.communicate(timeout=600)
  assert proc.returncode == 0, out
  # The worker's batches in shared memory are freed before the interpreter exits.
  assert leaked_shared_memory(out) == 0, out[-2000:]
  reference = losses(straight)
  assert sorted(reference) == list(range(1, STEPS + 1))

  killed = tmp_path / "killed"
  proc = launch(killed, tfds_dir, workers)
  wait_for_steps(killed, 5, proc)  # checkpoints at 2 and 4 by then
  grain_workers = children(proc.pid)
  assert grain_workers, "the run should have a grain worker process"
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert wait_until_gone(grain_workers), "grain workers outlived their trainer"
  with WorkdirLock(killed):  # a killed run leaves no stale lock
    pass
  proc = launch(killed, tfds_dir, workers)
  out, _ = proc.communicate(timeout=600)
  assert proc.returncode == 0, out
  assert "resumed from" in out
  assert leaked_shared_memory(out) == 0, out[-2000:]
  resumed = losses(killed)
  assert sorted(resumed) == sorted(reference)
  for step, value in reference.items():
    assert resumed[step] == pytest.approx(value, rel=1e-5), step
  assert (killed / "final_metrics.json").exists() and (killed / "predictions.png").exists()
  # The same run, not only the same losses: parameters, BatchNorm statistics and optimizer
  # state of the last step, and the final evaluation. A resume that lost the optimizer state
  # or replayed a batch moves every parameter by ~lr (RMSProp's normalised step) and the
  # state's averages by far more than rounding: tolerances are 1e-3 of that.
  straight_state, killed_state = final_state(straight), final_state(killed)
  lr = 2.5e-4  # configs/default.py, which cli_overrides keep
  assert jax.tree.structure(straight_state) == jax.tree.structure(killed_state)
  for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(straight_state),
                          jax.tree.leaves(killed_state)):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    atol = 1e-3 * lr if "params" in jax.tree_util.keystr(path) else 1e-6 * np.abs(a).max()
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=atol, err_msg=jax.tree_util.keystr(path))
  assert int(np.asarray(killed_state["step"])) == STEPS
  final = [{k: v for k, v in numbers(json.loads((w / "final_metrics.json").read_text())).items()
            if "time" not in k} for w in (straight, killed)]   # all but the wall time
  assert final[0] == pytest.approx(final[1], rel=1e-6, nan_ok=True)
  assert len(final[0]) > 10


def final_state(workdir):
  """The train state of the last step's checkpoint, as saved (no target needed)."""
  import orbax.checkpoint as ocp
  with ocp.StandardCheckpointer() as checkpointer:
    return checkpointer.restore((workdir / "checkpoints" / str(STEPS) / "state").absolute())


def numbers(tree, prefix=""):
  """{path: float} of every number in a JSON tree."""
  if isinstance(tree, (dict, list)):
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    return {k: v for key, value in items for k, v in numbers(value, f"{prefix}/{key}").items()}
  is_number = isinstance(tree, (int, float)) and not isinstance(tree, bool)
  return {prefix: float(tree)} if is_number else {}


@CLI_TRAININGS
def test_sigterm_saves_a_checkpoint_before_exit(tmp_path, tfds_dir):
  workdir = tmp_path / "term"
  # Without JAX_PLATFORMS, JAX's first backend lookup logs (INFO) each platform it could not
  # start, before the run's log file is open: that must not reach the console either.
  env = {k: v for k, v in cli_env().items() if k != "JAX_PLATFORMS"}
  proc = launch(workdir, tfds_dir, "--config.total_steps=400", env=env)
  wait_for_steps(workdir, 4, proc)
  proc.send_signal(signal.SIGTERM)
  out, _ = proc.communicate(timeout=120)
  assert proc.returncode == 0, out
  assert "stopping at step" in out
  assert not re.search(r"^I\d{4} ", out, re.M), out[:2000]  # absl's INFO lines
  step = int(out.split("stopping at step ")[1].split()[0])
  assert (workdir / "checkpoints" / str(step) / "state").is_dir()


def run_cli(*args):
  return subprocess.run([sys.executable, "-m", "msposejax.main", *args], cwd=REPO,
                        capture_output=True, text=True, timeout=600, env=cli_env())


@SMALL_TRAININGS
def test_workdir_with_another_models_checkpoint_is_one_line_error(tmp_path, tiny_run):
  workdir = tmp_path / "w"
  shutil.copytree(tiny_run[0], workdir)  # a finished run of the model with 32 features
  second = run_cli("train", "--workdir", str(workdir),
                   *cli_overrides(tiny_run[1].data.tfds_data_dir), "--config.total_steps=8",
                   "--config.model.features=16")
  assert second.returncode == 1
  last = second.stderr.strip().splitlines()[-1]
  assert "another model" in last and "model.features: checkpoint 32 vs config 16" in last


def test_missing_dataset_is_one_line_error(tmp_path):
  proc = run_cli("train", "--workdir", str(tmp_path / "w"), "--config",
                 str(REPO / "configs" / "tiny.py"), "--config.data.dataset=mpii_human_pose",
                 f"--config.data.tfds_data_dir={tmp_path / 'nothing'}")
  assert proc.returncode == 1
  last = proc.stderr.strip().splitlines()[-1]
  assert "not prepared" in last and "msposejax data prepare" in last
