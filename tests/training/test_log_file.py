"""The library log goes to WORKDIR/log.txt; the console keeps warnings (training/log_file.py)."""

import logging
import sys

from msposejax.training import log_file


def test_info_goes_to_the_file_and_only_warnings_to_the_console(tmp_path, capsys):
  root = logging.getLogger()
  console = logging.StreamHandler(sys.stderr)
  other = logging.FileHandler(tmp_path / "mine.txt")  # not the console: left as it is
  root.addHandler(console)
  root.addHandler(other)
  before = root.level
  try:
    with log_file.to_file(tmp_path / "run") as path:
      logging.getLogger("orbax.like").info("renamed a tmp checkpoint")
      logging.getLogger("msposejax.x").warning("3 corrupt images skipped")
      logging.getLogger("absl").warning("Requested `tracked_metric`; did not provide metrics.")
      logging.getLogger("absl").warning("Using custom data configuration: CocoConfig(...)")
      logging.getLogger("absl").warning("Variant folder /x/1.0.0 has no dataset_info.json")
    logging.getLogger("after").warning("back to normal")
  finally:
    root.removeHandler(console)
    root.removeHandler(other)
    other.close()
  assert path == tmp_path / "run" / "log.txt"
  text = path.read_text()
  assert "I orbax.like: renamed a tmp checkpoint" in text and "3 corrupt images" in text
  err = capsys.readouterr().err
  assert "renamed a tmp" not in err and "3 corrupt images skipped" in err and "back to" in err
  assert "tracked_metric" not in err and "tracked_metric" in text  # orbax's per-save note
  for tfds_note in ("Using custom data configuration", "has no dataset_info.json"):
    assert tfds_note not in err and tfds_note in text
  assert not console.filters
  assert "renamed a tmp" in (tmp_path / "mine.txt").read_text()  # its level untouched
  assert root.level == before and console.level == logging.NOTSET
  assert not any(h.stream.closed for h in root.handlers if hasattr(h, "stream"))


def test_without_handlers_warnings_still_reach_stderr(tmp_path, capsys):
  root = logging.getLogger()
  saved = root.handlers[:]
  root.handlers = []
  try:
    with log_file.to_file(tmp_path):
      logging.getLogger("x").warning("visible")
  finally:
    root.handlers = saved
  assert "visible" in capsys.readouterr().err
  assert "visible" in (tmp_path / "log.txt").read_text()


def test_a_short_wait_for_the_previous_save_goes_to_the_file_a_long_one_to_the_console(
    tmp_path, capsys):
  root = logging.getLogger()
  console = logging.StreamHandler(sys.stderr)
  root.addHandler(console)
  wait = "Waiting for previous save to complete took {} seconds. If this number is high, " \
         "consider checkpointing less frequently."
  try:
    with log_file.to_file(tmp_path / "run") as path:
      logging.getLogger("absl").warning(wait.format("1.380324"))
      logging.getLogger("absl").warning(wait.format("95.2"))
  finally:
    root.removeHandler(console)
  err, text = capsys.readouterr().err, path.read_text()
  assert "1.380324" in text and "1.380324" not in err  # the final save after a periodic one
  assert "95.2 seconds" in err  # saves that hold training back: the user may act on it
