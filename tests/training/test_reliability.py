"""What happens when: two runs on one workdir, Ctrl-C, a damaged checkpoint, a failing final
evaluation (a killed trainer's workers: test_resume.py)."""

import os
import shutil
import signal
import subprocess
import sys

import pytest

from msposejax.data import pipeline
from msposejax.inference.predictor import Predictor
from msposejax.state import checkpointing
from msposejax.training import loop, sharding
from msposejax.training.eval_checkpoint import evaluate_checkpoint
from msposejax.training.workdir_lock import WorkdirBusyError, WorkdirLock
from tests.conftest import REPO, with_field
from tests.training.conftest import (CLI_TRAININGS, SMALL_TRAININGS, children, cli_env,
                                   cli_overrides, leaked_shared_memory, small_config,
                                   wait_for_steps, wait_until_gone)


def _launch(workdir, tfds_dir, *extra):
  """A long training with one grain worker process, in its own process group (a terminal)."""
  args = [sys.executable, "-m", "msposejax.main", "train", "--workdir", str(workdir),
          *cli_overrides(tfds_dir), "--config.data.worker_count=1", "--config.total_steps=5000",
          "--config.log_every=1", "--config.checkpoint.every=1000", "--config.eval_every=0",
          *extra]
  return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, start_new_session=True, env=cli_env())


@CLI_TRAININGS
def test_a_second_run_on_a_busy_workdir_is_refused_and_ctrl_c_saves_and_exits_cleanly(
    tmp_path, tfds_dir):
  workdir = tmp_path / "ctrl_c"
  proc = _launch(workdir, tfds_dir)
  try:
    wait_for_steps(workdir, 2, proc)
    second = subprocess.run([sys.executable, "-m", "msposejax.main", "train", "--workdir",
                             str(workdir), *cli_overrides(tfds_dir)], cwd=REPO,
                            capture_output=True, text=True, timeout=300, env=cli_env())
    assert second.returncode == 1
    last = second.stderr.strip().splitlines()[-1]
    assert "in use by a running training" in last and f"pid {proc.pid}" in last
    grain_workers = children(proc.pid)
    assert grain_workers, "the run should have a grain worker process"
    wait_for_steps(workdir, 3, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    out, _ = proc.communicate(timeout=120)
  finally:
    if proc.poll() is None:
      proc.kill()
  assert proc.returncode == 0, out[-3000:]
  assert "Ctrl-C: saving a checkpoint" in out and "stopping at step" in out
  assert "terminated unexpectedly" not in out and "Traceback" not in out
  assert leaked_shared_memory(out) == 0, out[-2000:]
  step = int(out.split("stopping at step ")[1].split()[0])
  assert (workdir / "checkpoints" / str(step) / "state").is_dir()
  assert wait_until_gone(grain_workers), "grain workers outlived their trainer"


def test_the_lock_names_its_holder(tmp_path):
  with WorkdirLock(tmp_path):
    with pytest.raises(WorkdirBusyError, match=f"pid {os.getpid()}"):
      with WorkdirLock(tmp_path):
        pass
  with WorkdirLock(tmp_path):
    pass


@pytest.fixture
def run4(tiny_run):
  """A finished 4-step run with checkpoints at steps 2 and 4 (shared: copy before changing)."""
  path, cfg = tiny_run
  return path, cfg.copy_and_resolve_references()


def _damage(step_dir, kind):
  if kind == "truncated data":
    # Every file of array data: prediction reads only the weights, which need not be in the
    # largest file (an FSDP run spreads them over several).
    for data in (p for p in (step_dir / "state").glob("ocdbt.process_*/d/*") if p.is_file()):
      data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    return "state/ is unreadable"
  if kind == "empty metadata":
    (step_dir / "state" / "_METADATA").write_text("")
    return "state/_METADATA is empty"
  if kind == "bad config JSON":
    (step_dir / "config" / "metadata").write_text("{not json")
    return "config/metadata is not valid JSON"
  if kind == "missing state index":
    # orbax then reads an empty tree: "pytree structure error ... TrainState ... dict".
    (step_dir / "state" / "_METADATA").unlink()
    (step_dir / "state" / "manifest.ocdbt").unlink()
    return "state/_METADATA is missing"
  shutil.rmtree(step_dir / "state")
  return "state/ is missing"


KINDS = ["truncated data", "empty metadata", "bad config JSON", "missing state index",
         "missing state"]


@SMALL_TRAININGS
@pytest.mark.parametrize("kind", KINDS)
def test_eval_and_predict_name_the_damaged_step_and_file(run4, tmp_path, kind):
  src, cfg = run4
  workdir = tmp_path / "w"
  shutil.copytree(src, workdir)
  needle = _damage(workdir / "checkpoints" / "4", kind)
  with pytest.raises(checkpointing.DamagedCheckpointError) as e:
    Predictor.from_checkpoint(workdir / "checkpoints" / "4")
  assert "step 4" in str(e.value) and needle in str(e.value) and "\n" not in str(e.value)
  if kind != "bad config JSON":  # eval takes the config from the command line
    with pytest.raises(checkpointing.DamagedCheckpointError, match=f"step 4 .*{needle[:12]}"):
      evaluate_checkpoint(cfg, workdir, step=4)


@SMALL_TRAININGS
def test_training_falls_back_to_the_newest_intact_step_and_keeps_the_damaged_one(
    run4, tmp_path, capsys):
  src, cfg = run4
  workdir = tmp_path / "w"
  shutil.copytree(src, workdir)
  _damage(workdir / "checkpoints" / "4", "truncated data")
  with cfg.unlocked():
    cfg.total_steps = 5
  loop.train(cfg, workdir)
  out = capsys.readouterr().out
  assert "checkpoint step 4" in out and "is damaged: state/ is unreadable" in out
  assert f"resumed from {workdir / 'checkpoints' / '2'}" in out
  assert (workdir / "damaged_checkpoints" / "4" / "state").is_dir()  # kept, not deleted
  assert (workdir / "checkpoints" / "5").is_dir() and (workdir / "final_metrics.json").exists()


@SMALL_TRAININGS
def test_a_failing_final_evaluation_loses_no_training(tmp_path, tfds_dir, monkeypatch):
  cfg = small_config(tfds_dir, total_steps=3, log_every=1, num_visualize=0,
                     **{"checkpoint.every": 1000})
  def broken(*args, **kwargs):
    raise RuntimeError("evaluation failed")
  monkeypatch.setattr(loop.Trainer, "evaluate", broken)
  with pytest.raises(RuntimeError, match="evaluation failed"):
    loop.train(cfg, tmp_path / "w")
  with checkpointing.Checkpointer(tmp_path / "w", read_only=True) as ckpt:
    assert ckpt.steps() == [3]


@SMALL_TRAININGS
def test_sigterm_during_the_final_evaluation_stops_it_and_saves_the_final_step(
    tmp_path, tfds_dir, monkeypatch, capsys):
  """A preemption notice does not wait for a long final evaluation: the evaluation stops, the
  final step is saved (without its metric) and the run exits 143 (128 + SIGTERM)."""
  cfg = small_config(tfds_dir, total_steps=3, log_every=1, num_visualize=0,
                     **{"checkpoint.every": 1000})
  def preempted(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    pytest.fail("the evaluation went on after SIGTERM")
  monkeypatch.setattr(loop.Trainer, "evaluate", preempted)
  with pytest.raises(SystemExit) as e:
    loop.train(cfg, tmp_path / "w")
  assert e.value.code == 143
  assert "SIGTERM: stopped at once; last checkpoint: 3" in capsys.readouterr().out
  with checkpointing.Checkpointer(tmp_path / "w", read_only=True) as ckpt:
    assert ckpt.steps() == [3]


@SMALL_TRAININGS
def test_a_stop_during_the_last_step_saves_it_and_a_rerun_adds_its_metric(
    tmp_path, tfds_dir, monkeypatch):
  """SIGTERM while the last step runs: that step is saved (a preemption must not wait for the
  final evaluation), nothing evaluated; `train` again evaluates it and saves it with its
  metric, so it can be the best step (orbax ranks only steps saved with one)."""
  cfg = small_config(tfds_dir, total_steps=3, log_every=1, num_visualize=0,
                     **{"checkpoint.every": 1000})
  calls, real_global_batch = [], sharding.global_batch

  def global_batch(batch, mesh):
    calls.append(1)
    if len(calls) == 3:  # the last step
      os.kill(os.getpid(), signal.SIGTERM)
    return real_global_batch(batch, mesh)

  def no_evaluation(*args, **kwargs):
    pytest.fail("evaluated after the stop")

  with monkeypatch.context() as patch:
    patch.setattr(sharding, "global_batch", global_batch)
    patch.setattr(loop.Trainer, "evaluate", no_evaluation)
    assert loop.train(cfg, tmp_path / "w") == {"preempted_at": 3}
  with checkpointing.Checkpointer(tmp_path / "w", read_only=True) as ckpt:
    assert ckpt.steps() == [3] and ckpt.metric(3) is None
  final = loop.train(cfg, tmp_path / "w")  # resumes at the end: evaluates, adds the metric
  with checkpointing.Checkpointer(tmp_path / "w", read_only=True) as ckpt:
    assert ckpt.steps() == [3] and ckpt.metric(3) == final["pckh@0.5"]["mean"]
    assert ckpt.best_step() == 3


@SMALL_TRAININGS
@pytest.mark.parametrize("field, value, needle", [
    ("seed", 7, "seed: checkpoint 0 vs config 7"),
    ("optimizer.name", "adamw", "optimizer.name: checkpoint 'rmsprop' vs config 'adamw'"),
    ("optimizer.grad_clip", 1.0, "optimizer.grad_clip")])
def test_a_refused_resume_names_the_setting_that_changed(run4, field, value, needle):
  src, cfg = run4
  cfg = with_field(with_field(cfg, field, value), "total_steps", 6)
  with pytest.raises(ValueError, match="other training settings") as e:
    loop.train(cfg, src)
  assert needle in str(e.value)


@SMALL_TRAININGS
def test_a_missing_data_iterator_file_is_damage_not_a_crash(run4, tmp_path):
  """Resuming reads data/process_0-of-1.json; without it the step is damaged (moved aside,
  the step before tried), not an rc-1 `File ... does not exist`."""
  src, cfg = run4
  workdir = tmp_path / "w"
  shutil.copytree(src, workdir)
  (workdir / "checkpoints" / "4" / "data" / "process_0-of-1.json").unlink()
  trainer = loop.Trainer(cfg, workdir)
  iterator = iter(pipeline.train_loader(cfg))
  try:
    with checkpointing.Checkpointer(workdir, read_only=True) as ckpt:
      with pytest.raises(checkpointing.DamagedCheckpointError,
                         match="step 4 .* data/process_0-of-1.json is missing"):
        ckpt.restore(4, trainer.abstract_state, iterator)
      ckpt.restore(2, trainer.abstract_state, iterator)  # intact
  finally:
    pipeline.close(iterator)
