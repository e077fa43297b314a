"""A workdir on a full disk (#27 item 5): one line before any work, not the workdir lock's
traceback; and a log file the disk refuses prints no "--- Logging error ---" blocks.

On a real full disk: a small tmpfs, filled (the tests run as root; elsewhere they skip)."""

import errno
import logging
import os

import pytest

from msposejax.training import log_file
from msposejax.training.workdir_lock import WorkdirLock, WorkdirUnwritableError
from tests.conftest import fill, tmpfs


@pytest.fixture
def full_disk(tmp_path):
  """A folder on a 64 KiB tmpfs with every block taken."""
  with tmpfs(tmp_path / "full", "size=64k") as path:
    (path / "workdir").mkdir()
    fill(path / "filler")
    yield path


def test_a_full_disk_at_start_is_one_line_naming_the_workdir(full_disk):
  workdir = full_disk / "workdir"
  with pytest.raises(WorkdirUnwritableError) as e:
    with WorkdirLock(workdir):
      pytest.fail("the lock was taken on a full disk")
  assert e.value.errno == errno.ENOSPC
  assert str(e.value) == (f"cannot train in {workdir}: no space left on device "
                          f"({workdir / '.msposejax.lock'}); free some space there or use "
                          "another --workdir")
  with WorkdirLock(full_disk.parent / "elsewhere"):  # the error left no lock behind it
    pass


def test_a_log_file_on_a_full_disk_prints_no_logging_error_blocks(full_disk, capfd):
  # Room for the log file to be created (the disk was full only of its filler).
  os.remove(full_disk / "filler")
  with open(full_disk / "filler", "wb") as f:
    f.write(b"\0" * (60 * 1024))
  records = logging.getLogger("msposejax.test_disk_full")
  with log_file.to_file(full_disk / "workdir") as path:
    for i in range(400):  # ~40 KB of records: far past the free space
      records.info("record %d %s", i, "x" * 100)
  err = capfd.readouterr().err
  assert "Logging error" not in err and "Traceback" not in err
  lines = [line for line in err.splitlines() if "library log records" in line]
  assert len(lines) == 1 and str(path) in lines[0] and "no space left on device" in lines[0]
  written = path.read_text().count("record ")
  assert 0 < written < 400  # some went in before the disk filled, the rest were counted


def test_a_failed_run_leaves_the_full_disk_to_its_own_error(full_disk, capfd):
  records = logging.getLogger("msposejax.test_disk_full")
  with pytest.raises(RuntimeError):
    with log_file.to_file(full_disk / "workdir"):
      for i in range(50):
        records.info("record %d %s", i, "x" * 100)
      raise RuntimeError("cannot save checkpoint 6: no space left on device")
  err = capfd.readouterr().err
  assert "Logging error" not in err and "library log records" not in err
