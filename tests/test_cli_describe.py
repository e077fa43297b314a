"""`msposejax describe` end to end, and config errors as one line."""

import json
import subprocess
import sys

from tests.conftest import REPO, with_field


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


BROKEN = {"none.py": "def get_config():\n  return None\n",
          "raises.py": "def get_config():\n  raise RuntimeError('boom')\n",
          "syntax.py": "def get_config(:\n  pass\n",
          "noget.py": "x = 1\n"}


def test_a_broken_config_file_is_one_line_naming_it(tmp_path):
  from msposejax.config_files import load_config
  import pytest
  for name, text in BROKEN.items():
    (tmp_path / name).write_text(text)
  for name, needle in [("none.py", "returned NoneType"), ("raises.py", "RuntimeError: boom"),
                       ("syntax.py", "SyntaxError"), ("noget.py", "no get_config()")]:
    with pytest.raises(ValueError, match=needle) as e:
      load_config(tmp_path / name)
    assert str(tmp_path / name) in str(e.value) and "\n" not in str(e.value)
  proc = run_cli("describe", "--config", str(tmp_path / "syntax.py"))
  last = proc.stderr.strip().splitlines()[-1]
  assert proc.returncode == 1 and "syntax.py does not load: SyntaxError" in last
  assert "Traceback" not in proc.stderr and "--config is required" not in proc.stderr


def test_bad_settings_are_refused_before_anything_is_built(tiny_config):
  import pytest
  from msposejax.config_checks import validate_config
  for field, value, needle in [
      ("optimizer.learning_rate", -1e-3, "must be > 0"), ("eval_batch_size", 0, "≥ 1"),
      ("log_every", -1, "≥ 0"), ("checkpoint.every", -5, "≥ 0"), ("total_steps", 0, "≥ 1"),
      ("data.mask.prob", 1.5, "in [0, 1]"), ("checkpoint.keep", 0, "≥ 1"),
      ("targets.sigma_per_scale", (1.0, 0.0), "> 0 everywhere")]:
    cfg = with_field(tiny_config, field, value)
    import re
    with pytest.raises(ValueError, match=re.escape(f"config.{field}=") + ".*" + re.escape(needle)):
      validate_config(cfg)
  for field in ("checkpoint.every", "log_every", "eval_every"):  # 0 = off
    validate_config(with_field(tiny_config, field, 0))


def test_an_eval_batch_the_devices_cannot_split_is_refused_at_once(tiny_config):
  import jax
  import pytest
  from msposejax.training.sharding import make_mesh
  assert jax.device_count() == 8  # tests/conftest.py
  with tiny_config.unlocked():
    tiny_config.batch_size = 16
    tiny_config.eval_batch_size = 12
  with pytest.raises(ValueError, match="eval_batch_size=12 .* 8 devices"):
    make_mesh(tiny_config)
