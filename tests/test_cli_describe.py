"""`msposejax describe` end to end, and config errors as one line."""

import json
import subprocess
import sys

from tests.conftest import REPO


def run_cli(*args):
  return subprocess.run([sys.executable, "-m", "msposejax.main", *args], cwd=REPO,
                        capture_output=True, text=True, timeout=300)


def test_describe_tiny_prints_json():
  proc = run_cli("describe", "--config", "configs/tiny.py")
  assert proc.returncode == 0, proc.stderr
  info = json.loads(proc.stdout)
  assert info["input_shape"] == [1, 64, 64, 3]
  assert info["outputs"]["final"] == [1, 16, 16, 16]
  assert info["outputs"]["stacks/1/8"] == [1, 8, 8, 16]
  assert info["parameters"] == sum(info["parameters_by_part"].values())
  assert info["gflops_per_image"] > 0


def test_describe_override_changes_the_model():
  proc = run_cli("describe", "--config", "configs/tiny.py", "--config.model.mss=False")
  info = json.loads(proc.stdout)
  assert "stacks/1/8" not in info["outputs"] and "stacks/1/16" in info["outputs"]


def test_config_typo_and_bad_value_are_one_line_errors():
  for args, needle in [(["--config.model.num_stakcs=3"], 'Did you mean "num_stacks"'),
                       (["--config.loss.final=l1"], "config.loss.final='l1'"),
                       (["--config.input_size=100"], "multiple of 16")]:
    proc = run_cli("describe", "--config", "configs/tiny.py", *args)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("msposejax: bad command line or config") and needle in last
    assert "Traceback" not in proc.stderr


def test_missing_config_file_is_one_line_error():
  proc = run_cli("describe", "--config", "configs/does_not_exist.py")
  assert proc.returncode == 1 and "does_not_exist.py" in proc.stderr.splitlines()[-1]
  assert "Traceback" not in proc.stderr
