"""The command line's help and flag rules (msposejax/commands.py, msposejax/main.py)."""

import ast
import subprocess
import sys

import pytest
import yaml

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
    (["export", "--checkpoint", "w", "--config", "configs/tiny.py", "--out", "o"],
     "export does not take --config"),
    (["predict", "--checkpoint", "w"], "predict needs --out, e.g. msposejax"),
    (["predict", "--checkpoint", "w", "--out", "o"], "predict needs --images FILES or --video"),
    (["predict", "--checkpoint", "w", "--video", "v.mp4", "--box", "1,2,3", "--out", "o.mp4"],
     "--box is x1,y1,x2,y2"),
    (["export", "--checkpoint", "w", "--format", "tflite", "--out", "o"], "flag --format=tflite"),
    (["train", "--config", "configs/tiny.py"], "train needs --workdir"),
    (["describe"], "describe needs --config FILE"),
    (["trian"], "unknown command trian"),
    (["predict", "--checkpoint", "no_run", "--video", "v.mp4", "--box", "1,2,3,x", "--out", "o"],
     "--box 1,2,3,x must be 4 numbers"),  # said before the checkpoint is looked for
    (["score", "--predictions", "p", "--ground-truth", "g", "--distributed"],
     "score does not take --distributed"),
    (["predict", "--checkpoint", "w", "--images", "i", "--beta", "0.5", "--out", "o"],
     "--min_cutoff and --beta smooth the keypoints of --video only"),
    (["predict", "--checkpoint", "w", "--video", "v.mp4", "--beta", "-1", "--out", "o.mp4"],
     "--beta must be >= 0, got -1.0"),
    (["predict", "--checkpoint", "w", "--video", "v.mp4", "--min_cutoff", "0", "--out", "o"],
     "--min_cutoff must be > 0 (Hz), got 0.0"),
    (["config", "show"], "config show needs --config FILE"),
    (["eval", "--workdir", "w", "--config.eval_batch_size=4"], "--config needs a config file"),
    (["describe", "--config"], "--config needs a config file"),
    (["describe", "--config=configs/tiny.py:x"], "arguments after ':' are not taken"),
    (["eval", "--step", "best"], "flag --step=best")])
def test_a_wrong_command_line_is_one_line(args, needle):
  proc = cli(*args)
  assert proc.returncode == 1
  assert proc.stderr.strip().count("\n") == 0 and needle in proc.stderr, proc.stderr


def _literal_assignments(path):
  """{"model.features": 32, ...}: every `config.FIELD = literal` in a config file's
  get_config(), read from its source text (no ml_collections involved)."""
  body = next(n for n in ast.parse(path.read_text()).body
              if isinstance(n, ast.FunctionDef) and n.name == "get_config").body
  values = {}
  for node in body:
    if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]).startswith("config."):
      try:
        value = ast.literal_eval(node.value)
      except ValueError:
        continue  # a ConfigDict() or a computed value
      values[ast.unparse(node.targets[0])[len("config."):]] = value
  return values


def test_config_show_prints_every_field_after_the_variant_and_the_overrides():
  proc = cli("config", "show", "--config", "configs/tiny.py", "--config.model.features=24",
             "--config.video.beta=0.25")
  assert proc.returncode == 0, proc.stderr
  shown = yaml.safe_load(proc.stdout)  # YAML as printed: one field a line, readable

  def value(field):
    node = shown
    for part in field.split("."):
      node = node[part]
    return node

  want = _literal_assignments(REPO / "configs" / "default.py")
  variant = _literal_assignments(REPO / "configs" / "tiny.py")
  assert variant and set(variant) <= set(want)  # tiny.py changes fields default.py defines
  want.update(variant)
  want.update({"model.features": 24, "video.beta": 0.25})
  assert len(want) > 50
  for field, expected in want.items():
    expected = list(expected) if isinstance(expected, tuple) else expected
    assert value(field) == expected, field
  assert "!!python" not in proc.stdout and "{" not in proc.stdout  # no repr blobs


def test_eval_takes_the_checkpoints_config_unless_one_is_given(monkeypatch, tmp_path):
  """The command line hands evaluate_checkpoint None (the checkpoint's own saved config)
  without --config, and the loaded file with its overrides with one."""
  from msposejax import main
  from msposejax.training import eval_checkpoint
  calls = []
  monkeypatch.setattr(eval_checkpoint, "evaluate_checkpoint",
                      lambda config, workdir, step: calls.append((config, workdir, step)))
  monkeypatch.setattr(main, "_config", None)  # what main.run leaves behind in this process
  try:
    for argv in (["eval", "--workdir", str(tmp_path)],
                 ["eval", "--workdir", str(tmp_path), "--step", "4", "--config",
                  "configs/tiny.py", "--config.eval_batch_size=8"]):
      monkeypatch.setattr(sys, "argv", ["msposejax", *argv])
      with pytest.raises(SystemExit) as e:
        main.run()
      assert not e.value.code
  finally:
    main.parse_flags(["msposejax"])  # no flag given, no config flag: as before the test
  assert calls[0] == (None, str(tmp_path), None)
  config, workdir, step = calls[1]
  assert (workdir, step, config.eval_batch_size, config.input_size) == (str(tmp_path), 4, 8, 64)


def test_output_cut_short_by_its_reader_ends_quietly():
  """`msposejax --help | head -1`: the reader has gone before the help is written."""
  proc = subprocess.Popen([sys.executable, "-m", "msposejax.main", "--help"], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
  proc.stdout.close()  # long before the interpreter has started
  _, err = proc.communicate(timeout=60)
  assert proc.returncode == 141 and err == b"", err.decode()[-2000:]


def test_library_notes_are_dropped_and_warnings_a_user_must_act_on_kept():
  import logging
  from msposejax import console
  keep = console.DropLibraryNotes().filter

  def record(name, level, message):
    return logging.LogRecord(name, level, __file__, 1, message, None, None)

  for message in ("Using custom data configuration: SyntheticPeopleConfig(name='train40')",
                  "Variant folder /x/1.1.0 has no dataset_info.json",
                  "Given directory is read only=/runs/q/checkpoints",
                  "The value type for shape is not supported; Skipping serialization"):
    assert not keep(record("absl", logging.WARNING, message)), message
    assert keep(record("absl", logging.ERROR, message))  # an error always reaches the user
  assert keep(record("absl", logging.WARNING, "Only 3 examples in split 'validation'"))
  assert not keep(record("asyncio", logging.ERROR, "Future exception was never retrieved"))


def test_the_config_file_is_loaded_once(tmp_path):
  calls = tmp_path / "calls"
  (tmp_path / "counted.py").write_text(
      "from msposejax.config_files import load_config\n\n"
      "def get_config():\n"
      f"  with open({str(calls)!r}, 'a') as f:\n"
      "    f.write('get_config\\n')\n"
      f"  return load_config({str(REPO / 'configs' / 'tiny.py')!r})\n")
  proc = cli("config", "show", "--config", str(tmp_path / "counted.py"), "--config.seed=3")
  assert proc.returncode == 0, proc.stderr
  assert "seed: 3" in proc.stdout and calls.read_text() == "get_config\n"


def test_our_input_errors_end_in_one_line_on_the_command_line():
  """The errors a user can fix (a full or busy workdir, a non-finite loss, a busy output, a
  damaged checkpoint, a missing file) are printed as one line by `msposejax`, not raised."""
  from msposejax import console
  from msposejax.inference.predict_files import OutputBusyError
  from msposejax.state.damage import DamagedCheckpointError
  from msposejax.training import loop, workdir_lock
  ours = console.user_errors()
  for error in (workdir_lock.WorkdirUnwritableError, workdir_lock.WorkdirBusyError,
                loop.NonFiniteLossError, OutputBusyError, DamagedCheckpointError,
                FileNotFoundError):
    assert issubclass(error, ours), error
  assert not issubclass(RuntimeError, ours) and not issubclass(KeyError, ours)  # our bugs


@pytest.mark.xdist_group("predictor")  # reads tiny_run, as the predictor tests do
def test_predict_with_a_config_of_another_model_is_one_line(tiny_run, tmp_path):
  """`predict --config C` hands C to the Predictor, which refuses a C of another model before
  predicting anything (with one of the same model it predicts with C's settings:
  tests/inference/test_predictor.py)."""
  proc = cli("predict", "--checkpoint", str(tiny_run[0]), "--config", "configs/tiny.py",
             "--images", str(REPO / "tests" / "fixtures" / "mpii_sample"),
             "--out", str(tmp_path / "out"))
  assert proc.returncode == 1, proc.stdout + proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and "holds a checkpoint of another model (model.num_stacks: " \
      "checkpoint 1 vs config 2" in lines[0] and "give --config of the checkpoint's model" \
      in lines[0], proc.stderr
  assert not (tmp_path / "out" / "predictions.json").exists()

