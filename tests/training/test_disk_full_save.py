"""A disk that fills during a training (#27 item 5): the save it refuses ends the run in one
line naming that step and the last one on disk, whenever orbax's asynchronous write reports
it; the run resumes from that step once there is room.

On a real full disk: a small tmpfs (the tests run as root; elsewhere they skip)."""

import itertools
import logging
import os
import re

import pytest

from msposejax.state import checkpointing
from msposejax.training import loop, sharding
from tests.conftest import fill, tmpfs
from tests.training.conftest import SMALL_TRAININGS, small_config


@pytest.fixture
def small_disk(tmp_path):
  """A folder on a 32 MiB tmpfs."""
  with tmpfs(tmp_path / "disk", "size=32m") as path:
    yield path


@SMALL_TRAININGS
def test_a_disk_full_during_a_save_is_one_line_and_the_run_resumes(
    small_disk, tfds_dir, monkeypatch, capsys, caplog):
  workdir = small_disk / "run"
  cfg = small_config(tfds_dir, total_steps=4, log_every=100, eval_num_examples=8,
                     num_visualize=0, **{"checkpoint.every": 1})
  calls = itertools.count(1)
  real_global_batch = sharding.global_batch

  def global_batch(batch, mesh):  # the disk fills while step 3 computes
    if next(calls) == 3:
      fill(small_disk / "filler")
    return real_global_batch(batch, mesh)

  monkeypatch.setattr(sharding, "global_batch", global_batch)
  with pytest.raises(checkpointing.CheckpointSaveError) as e:
    loop.train(cfg, workdir)
  message = str(e.value)
  # The disk filled before step 3, while step 2's asynchronous write could still be under way
  # (and step 3's may fit in what a deleted older step left).
  found = re.fullmatch(r"cannot save checkpoint (\d+): no space left on device \((.+)\); "
                       r"last checkpoint: (\d+)", message)
  assert found and "\n" not in message, message
  failed, reason, last = int(found[1]), found[2], int(found[3])
  assert failed >= 2 and last == failed - 1
  assert reason.endswith("No space left on device") and len(reason) < 400, reason
  assert not (workdir / "checkpoints" / str(failed)).exists()  # only orbax's tmp folder
  assert isinstance(e.value, ValueError)  # the command line's one-line errors
  # orbax's save threads logged the failure with a traceback each (4 on the console of a
  # `msposejax train` before they were dropped): the error above says it once.
  assert not [r for r in caplog.records if r.name == "absl" and r.levelno >= logging.ERROR]

  monkeypatch.setattr(sharding, "global_batch", real_global_batch)
  os.remove(small_disk / "filler")
  loop.train(cfg, workdir)
  assert f"resumed from {workdir / 'checkpoints' / str(last)}" in capsys.readouterr().out
  assert (workdir / "checkpoints" / "4").is_dir() and (workdir / "final_metrics.json").exists()
