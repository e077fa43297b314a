"""Kill -9 and resume gives the uninterrupted loss curve; SIGTERM checkpoints; bad inputs."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from tests.training.conftest import cli_env, cli_overrides

STEPS = 8


def launch(workdir, tfds_dir, *extra):
  args = [sys.executable, "-m", "msposejax.main", "train", "--workdir", str(workdir),
          *cli_overrides(tfds_dir), f"--config.total_steps={STEPS}", "--config.log_every=1",
          "--config.checkpoint.every=2", "--config.eval_every=0", *extra]
  return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=cli_env())


def losses(workdir):
  by_step = {}
  for line in (workdir / "metrics.jsonl").read_text().splitlines():
    row = json.loads(line)
    if "loss/total" in row:
      by_step[row["step"]] = row["loss/total"]  # after a resume, the re-run step wins
  return by_step


def wait_for_steps(workdir, n, proc, timeout=240):
  start = time.time()
  while time.time() - start < timeout:
    path = workdir / "metrics.jsonl"
    if path.exists() and len(path.read_text().splitlines()) >= n:
      return
    if proc.poll() is not None:
      raise AssertionError(f"run ended early:\n{proc.stdout.read()}")
    time.sleep(0.2)
  raise AssertionError("timed out waiting for training steps")


def test_kill_and_resume_reproduces_the_loss_curve(tmp_path, tfds_dir):
  straight = tmp_path / "straight"
  proc = launch(straight, tfds_dir)
  out, _ = proc.communicate(timeout=600)
  assert proc.returncode == 0, out
  reference = losses(straight)
  assert sorted(reference) == list(range(1, STEPS + 1))

  killed = tmp_path / "killed"
  proc = launch(killed, tfds_dir)
  wait_for_steps(killed, 5, proc)  # checkpoints at 2 and 4 by then
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  proc = launch(killed, tfds_dir)
  out, _ = proc.communicate(timeout=600)
  assert proc.returncode == 0, out
  assert "resumed from" in out
  resumed = losses(killed)
  assert sorted(resumed) == sorted(reference)
  for step, value in reference.items():
    assert resumed[step] == pytest.approx(value, rel=1e-5), step
  assert (killed / "final_metrics.json").exists() and (killed / "predictions.png").exists()


def test_sigterm_saves_a_checkpoint_before_exit(tmp_path, tfds_dir):
  workdir = tmp_path / "term"
  proc = launch(workdir, tfds_dir, "--config.total_steps=400")
  wait_for_steps(workdir, 4, proc)
  proc.send_signal(signal.SIGTERM)
  out, _ = proc.communicate(timeout=120)
  assert proc.returncode == 0, out
  assert "stopping at step" in out
  step = int(out.split("stopping at step ")[1].split()[0])
  assert (workdir / "checkpoints" / str(step) / "state").is_dir()


def run_cli(*args):
  return subprocess.run([sys.executable, "-m", "msposejax.main", *args], cwd=REPO,
                        capture_output=True, text=True, timeout=600, env=cli_env())


def test_workdir_with_another_models_checkpoint_is_one_line_error(tmp_path, tfds_dir):
  workdir = tmp_path / "w"
  first = run_cli("train", "--workdir", str(workdir), *cli_overrides(tfds_dir),
                  "--config.total_steps=2", "--config.log_every=1")
  assert first.returncode == 0, first.stdout + first.stderr
  second = run_cli("train", "--workdir", str(workdir), *cli_overrides(tfds_dir),
                   "--config.total_steps=4", "--config.model.features=16")
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
