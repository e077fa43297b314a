"""What happens when (docs/reliability.md), outside training: a `--step` the workdir does not
hold, an output location that cannot be written, two `predict` runs on one `--out`, a bad
`--config` value's message."""

import fcntl
import os
import shutil
import subprocess
import sys

import pytest
from absl import flags

from msposejax import main
from msposejax.inference import predict_files
from msposejax.inference.predictor import Predictor
from msposejax.state import checkpointing
from tests.conftest import REPO, tmpfs

pytestmark = pytest.mark.xdist_group("predictor")  # shares tiny_run's restore with its tests
PHOTO = REPO / "tests" / "fixtures" / "mpii_sample" / "052475643.jpg"


@pytest.fixture
def read_only_dir(tmp_path):
  """A folder nobody can write in. The tests run as root, and root ignores permission bits
  (chmod 0o555 stops only other users), so for root it is a read-only tmpfs mount: the kernel
  refuses every write with EROFS, as on a read-only disk or share."""
  path = tmp_path / "read_only"
  if os.geteuid() != 0:
    path.mkdir()
    path.chmod(0o555)
    yield path
    path.chmod(0o755)
    return
  with tmpfs(path, "ro,size=64k"):
    yield path


@pytest.fixture
def command_line():
  """Parses argv into absl's flags (as `msposejax` does) and forgets them afterwards."""
  def parse(*argv):
    flags.FLAGS(["msposejax", *map(str, argv)])
  yield parse
  flags.FLAGS.unparse_flags()


def test_a_step_the_workdir_does_not_hold_is_named_with_the_steps_it_holds(tiny_run):
  workdir = tiny_run[0]
  want = f"no step 777 in {workdir}; its steps are 2, 4"
  for path in (workdir, workdir / "checkpoints" / "777"):  # --step 777, or the step's folder
    with pytest.raises(FileNotFoundError) as e:
      Predictor.from_checkpoint(path, step=777 if path == workdir else None)
    assert str(e.value) == want and not isinstance(e.value, checkpointing.DamagedCheckpointError)
  # eval goes through the same check before its restore
  with checkpointing.Checkpointer(workdir, read_only=True) as ckpt:
    with pytest.raises(FileNotFoundError, match=want):
      ckpt.saved_config(777)


def test_a_damaged_step_is_still_called_damaged(tiny_run, tmp_path):
  workdir = tmp_path / "w"
  shutil.copytree(tiny_run[0], workdir)
  shutil.rmtree(workdir / "checkpoints" / "4" / "state")
  with pytest.raises(checkpointing.DamagedCheckpointError, match="step 4 .* state/ is missing"):
    Predictor.from_checkpoint(workdir, step=4)


# (argv, where --out writes): every command with an --out but import-torch (checked by its
# own code); the checkpoint does not exist, so reaching it would be another error.
CASES = [
    (("export", "--out", "{ro}/model"), "{ro}/model"),
    (("export", "--format", "onnx", "--out", "{ro}/model"), "{ro}/model"),
    (("predict", "--images", str(PHOTO), "--out", "{ro}/out"), "{ro}/out"),
    (("predict", "--video", "clip.avi", "--out", "{ro}/out.mp4"), "{ro}"),
    (("predict", "--video", "clip.avi", "--out", "{ro}/frames"), "{ro}/frames"),
    (("predict", "--images", str(PHOTO), "--out", str(PHOTO)), str(PHOTO)),  # even for root
]


@pytest.mark.parametrize("argv,where", CASES, ids=lambda v: "_".join(v) if isinstance(v, tuple)
                         else None)
def test_an_unwritable_output_is_one_line_before_the_checkpoint_is_read(
    read_only_dir, command_line, argv, where, tmp_path):
  command, *rest = (a.format(ro=read_only_dir) for a in argv)
  command_line("--checkpoint", tmp_path / "no_such_run", *rest)
  with pytest.raises(SystemExit) as e:
    main._run((command,))
  message = str(e.value.code)
  where = where.format(ro=read_only_dir)
  inside = "" if where == rest[-1] else f" (in {where})"
  assert message.startswith(f"msposejax: cannot write --out {rest[-1]}{inside}: "), message
  assert "\n" not in message and "no_such_run" not in message
  reason = "it is a file, not a folder" if where == str(PHOTO) else (
      "Read-only file system" if os.geteuid() == 0 else "Permission denied")
  assert message.endswith(reason), message


def test_a_second_predict_on_one_out_is_refused_before_anything_is_read(
    tmp_path, command_line):
  out = tmp_path / "out"
  out.mkdir()
  # The other run: what output_lock does in another process (same file, same flock).
  other = os.open(out / predict_files.LOCK_FILE, os.O_RDWR | os.O_CREAT)
  fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
  os.write(other, b"pid 4242 on elsewhere, since 2026-12-06 23:00:00")
  try:
    command_line("--checkpoint", tmp_path / "no_such_run", "--images", PHOTO, "--out", out)
    with pytest.raises(predict_files.OutputBusyError,
                       match=r"out is in use by another predict \(pid 4242 on elsewhere"):
      main._run(("predict",))
    with pytest.raises(predict_files.OutputBusyError):  # the library function refuses too
      predict_files.predict_files(None, [str(PHOTO)], str(out))
    assert sorted(p.name for p in out.iterdir()) == [predict_files.LOCK_FILE]
  finally:
    os.close(other)  # what the other run's exit (or death) does
  with predict_files.output_lock(out):
    with predict_files.output_lock(out):  # re-entrant: the command line, then predict_files
      pass
  assert "pid 4242" not in (out / predict_files.LOCK_FILE).read_text()


def test_a_second_predict_on_one_output_video_is_refused(tmp_path, command_line):
  lock = tmp_path / f".walk.mp4{predict_files.LOCK_FILE}"  # beside the video it writes
  other = os.open(lock, os.O_RDWR | os.O_CREAT)
  fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
  try:
    command_line("--checkpoint", tmp_path / "no_such_run", "--video", "clip.avi", "--out",
                 tmp_path / "walk.mp4")
    with pytest.raises(predict_files.OutputBusyError, match="in use by another predict"):
      main._run(("predict",))
    command_line("--checkpoint", tmp_path / "no_such_run", "--video", "clip.avi", "--out",
                 tmp_path / "other.mp4")  # another video in the same folder is fine
    with pytest.raises(FileNotFoundError, match="no_such_run"):
      main._run(("predict",))
  finally:
    os.close(other)


def test_the_command_line_says_it_in_one_line(read_only_dir):
  """The one `msposejax` subprocess: the read-only --out and a bad number, as a user sees
  them (stderr, exit status)."""
  proc = subprocess.run(
      [sys.executable, "-c", "import sys\nfrom msposejax import main\n"
       "for argv in sys.argv[1:]:\n"
       "  sys.argv = ['msposejax', *argv.split()]\n"
       "  try:\n    main.run()\n  except SystemExit as e:\n    print(e.code, file=sys.stderr)\n",
       f"predict --checkpoint {read_only_dir}/run --images {PHOTO} --out {read_only_dir}/out",
       "describe --config configs/tiny.py --config.batch_size=abc"],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 2, proc.stderr
  assert lines[0].startswith(f"msposejax: cannot write --out {read_only_dir}/out: ")
  assert lines[1] == ("msposejax: bad command line or config: flag --config.batch_size=abc: "
                      "invalid literal for int() with base 10: 'abc'")
