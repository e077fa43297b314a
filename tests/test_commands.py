"""The command line's help and flag rules (msposejax/commands.py, msposejax/main.py)."""

import subprocess
import sys

import pytest

from msposejax import commands
from tests.conftest import REPO, modules_loaded_by


def cli(*args):
  return subprocess.run([sys.executable, "-m", "msposejax.main", *args], cwd=REPO,
                        capture_output=True, text=True, timeout=120)


def test_help_lists_every_command_with_an_example_and_exits_0():
  for args in (["--help"], ["-h"], ["help"]):
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr
    for command, spec in commands.COMMANDS.items():
      assert commands.name(command) in proc.stdout and spec.example in proc.stdout
  assert cli().returncode == 2  # no command: the same list, as a usage error


@pytest.mark.parametrize("command", list(commands.COMMANDS))
def test_each_command_help_lists_its_flags_and_exits_0(command):
  proc = cli(*command, "--help")
  assert proc.returncode == 0, proc.stderr
  spec = commands.COMMANDS[command]
  flag_lines = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  --")]
  assert flag_lines[:len(spec.flags)] == [f"--{f}" for f in spec.flags]
  assert spec.example in proc.stdout
  assert proc.stdout.count("(required)") == len(spec.required)
  assert "USAGE" not in proc.stdout and "helpfull" not in proc.stdout  # not absl's stub


def test_help_imports_neither_jax_nor_the_training_stack():
  code = ("import sys\nsys.argv = ['msposejax', 'train', '--help']\nimport msposejax.main as m\n"
          "try:\n  m.run()\nexcept SystemExit:\n  pass")
  assert modules_loaded_by(code, ("jax", "flax", "orbax", "tensorflow",
                                  "msposejax.training")) == []


@pytest.mark.parametrize("args, needle", [
    (["eval", "--config", "configs/tiny.py", "--workdir", "w", "--checkpoint", "5"],
     "eval does not take --checkpoint (eval takes --step N"),
    (["import-torch", "--config", "configs/tiny.py", "--checkpoint", "m.pt", "--out", "o"],
     "--torch_weights FILE"),
    (["predict", "--checkpoint", "w", "--config", "configs/tiny.py", "--images", "i",
      "--out", "o"], "predict does not take --config"),
    (["predict", "--checkpoint", "w"], "predict needs --out, e.g. msposejax"),
    (["predict", "--checkpoint", "w", "--out", "o"], "predict needs --images FILES or --video"),
    (["predict", "--checkpoint", "w", "--video", "v.mp4", "--box", "1,2,3", "--out", "o.mp4"],
     "--box is x1,y1,x2,y2"),
    (["export", "--checkpoint", "w", "--format", "tflite", "--out", "o"], "flag --format=tflite"),
    (["train", "--config", "configs/tiny.py"], "train needs --workdir"),
    (["describe"], "describe needs --config FILE"),
    (["trian"], "unknown command trian"),
    (["eval", "--step", "best"], "flag --step=best")])
def test_a_wrong_command_line_is_one_line(args, needle):
  proc = cli(*args)
  assert proc.returncode == 1
  assert proc.stderr.strip().count("\n") == 0 and needle in proc.stderr, proc.stderr
