"""Test setup: 8 fake CPU devices (sharding tests) and the repository root for configs."""

import contextlib
import errno
import fcntl
import os
import pathlib
import shutil
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[1]

# XLA flags of every test process and of the processes the tests start. LLVM's optimisation
# level 0: the suite compiles hundreds of programs and runs each only a few times, so
# compiling is most of its time. The same programs (the HLO is unchanged), generated with
# fewer LLVM passes: the whole suite took 445 s instead of 476 s, 831 instead of 899 CPU
# seconds (2-core AMD EPYC VM, 2026-12-02, docs/benchmarks.md). Users' runs keep XLA's
# default level.
TEST_XLA_FLAGS = "--xla_backend_optimization_level=0"


def xla_flags(devices: int) -> str:
  """XLA_FLAGS for a test process on `devices` fake CPU devices."""
  return f"--xla_force_host_platform_device_count={devices} {TEST_XLA_FLAGS}"


# Must happen before JAX initialises its backend.
os.environ.setdefault("XLA_FLAGS", xla_flags(8))
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One persistent XLA compilation cache for the whole suite, inherited by the xdist workers and
# by the `msposejax` subprocesses the tests start: they compile the same tiny init, train step
# and predict functions dozens of times, and compiling is most of the suite's time. Keyed by
# the HLO, the flags and the JAX version, so a code change never reads a stale entry. Every
# program is kept, however quick to compile: the op-by-op model init alone compiles ~150
# small ones in each new process (a second process's tiny init: 13.6 s with a 0.5 s
# threshold, 4.3 s with none; docs/benchmarks.md, "The test suite").
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      str(REPO / ".pytest_cache" / "jax_compilation_cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import pytest  # noqa: E402

from msposejax.config_files import load_config  # noqa: E402


def built_once(tmp_path_factory, name: str, build) -> pathlib.Path:
  """`build(path)` run once for the whole test session, however many xdist processes run it.

  The first process to get here builds `name` in the session's shared temporary folder while
  holding a lock; the others wait for it and reuse the result (a training costs the same in
  every process, and the processes share two cores). A build that raised leaves no marker,
  so the next process tries again. Without xdist: a fresh folder, built in place.
  """
  if "PYTEST_XDIST_WORKER" not in os.environ:
    path = tmp_path_factory.mktemp(name)
    build(path)
    return path
  root = tmp_path_factory.getbasetemp().parent
  path, done = root / name, root / f"{name}.done"
  with open(root / f"{name}.lock", "w") as lock:  # closing the file releases the lock
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not done.exists():
      shutil.rmtree(path, ignore_errors=True)
      path.mkdir()
      build(path)
      done.touch()
  return path


def alive(pid: int) -> bool:
  """Whether process `pid` runs (a zombie, dead but not yet reaped, does not)."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      return f.read().rsplit(")", 1)[1].split()[0] != "Z"
  except OSError:
    return False


@contextlib.contextmanager
def tmpfs(path: pathlib.Path, options: str):
  """A tmpfs mounted on the folder `path` with mount `options` ("size=64k", "ro,size=64k"):
  a real full or read-only disk. Mounting needs root; elsewhere (or where mount fails) the
  test skips, saying why. Unmounted afterwards."""
  path.mkdir(exist_ok=True)
  if os.geteuid() != 0:
    pytest.skip("mounting a small tmpfs needs root")
  mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "none", str(path)],
                           capture_output=True, text=True)
  if mounted.returncode != 0:
    pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
  try:
    yield path
  finally:
    subprocess.run(["umount", "-l", str(path)], check=True)


def fill(path: pathlib.Path) -> None:
  """Writes zeros to the file `path` until its disk is full (ENOSPC)."""
  with open(path, "wb", buffering=0) as f:
    try:
      while True:
        f.write(b"\0" * 4096)
    except OSError as e:
      assert e.errno == errno.ENOSPC, e


# Session fixtures defined here, once: a module that imports a fixture gets its own copy
# (pytest keys fixtures by where they are defined), so each importing module trained anew.
@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory):
  def build(path):
    cfg = load_config(REPO / "configs" / "tiny.py")
    with cfg.unlocked():
      cfg.data.dataset = "synthetic_people/small"
      cfg.data.tfds_data_dir = str(path)
    from msposejax.data import pipeline
    pipeline.prepare(cfg)
  return built_once(tmp_path_factory, "tfds", build)


def _tiny_run_config(tfds_dir):
  from tests.training.conftest import small_config
  return small_config(tfds_dir, total_steps=4, log_every=1, eval_num_examples=8,
                      num_visualize=0, **{"checkpoint.every": 2})


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tfds_dir):
  """A finished 4-step tiny training (checkpoints at steps 2 and 4), trained on the 8 fake
  devices with FSDP-sharded parameters, shared by the tests that only read it (predictor,
  notebook, video, damaged checkpoints; tests that change it copy it first). Returns (path, config).

  Trained once per session (`built_once`): the other test processes wait for it."""
  from msposejax.training.loop import train
  path = built_once(tmp_path_factory, "tiny_run",
                    lambda path: train(_tiny_run_config(tfds_dir), path))
  return path, _tiny_run_config(tfds_dir)


def pytest_configure(config):
  # pytest-xdist would hand out its groups largest first; the order of
  # pytest_collection_modifyitems below is the one meant.
  if hasattr(config.option, "loadscopereorder"):
    config.option.loadscopereorder = False


def pytest_terminal_summary(terminalreporter):
  """Says how many tests skipped because the real data beside the repository
  (../shared/data: MPII validation files and published predictions, LSP-extended photos) is
  absent, as for anyone installing from the README alone (README, "Tests")."""
  skipped = terminalreporter.stats.get("skipped", [])
  missing = [r for r in skipped if "shared/data" in str(getattr(r, "longrepr", ""))]
  if missing:
    terminalreporter.write_sep("-", f"{len(missing)} tests skipped: real data absent from "
                                    f"{(REPO.parent / 'shared' / 'data').resolve()}")
    terminalreporter.write_line(
        "They check the official MPII protocol on Newell's published predictions and read "
        "LSP-extended photos; the rest of the suite (the protocol on 200 real validation "
        "people in tests/fixtures included) ran. README, \"Tests\", says where the data comes "
        "from.")


def pytest_collection_modifyitems(items):
  """The training tests (minutes each, most of the suite's time) first, the rest after: the
  test processes then end together on the many short tests instead of one of them running
  the last long training alone. Within each, the tests that read `tiny_run` first: the
  process that takes them trains it (compiling the programs of every in-process training,
  tests/training/conftest.py), while the other process starts on trainings of their own."""
  items.sort(key=lambda item: (not item.nodeid.startswith("tests/training/"),
                               "tiny_run" not in item.fixturenames))


@pytest.fixture
def tiny_config():
  return load_config(REPO / "configs" / "tiny.py")


def modules_loaded_by(code: str, modules: tuple[str, ...]) -> list[str]:
  """Which of `modules` a fresh interpreter has imported after running `code` (start-up cost
  checks: what a command or an import drags in)."""
  import ast
  import subprocess
  import sys
  probe = f"{code}\nimport sys\nprint(sorted(m for m in {modules!r} if m in sys.modules))"
  proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                        timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  return ast.literal_eval(proc.stdout.strip().splitlines()[-1])


def with_field(config, field, value):
  """A copy of `config` with the dotted `field` set to `value`."""
  config = config.copy_and_resolve_references()
  *path, last = field.split(".")
  node = config
  for p in path:
    node = node[p]
  with config.unlocked():
    node[last] = value
  return config


LSPET = REPO / ".." / "shared" / "data" / "lspet"


def lspet_manual_dir(root: pathlib.Path, images: range = range(1, 21)) -> pathlib.Path:
  """A manual dir with the real LSP-extended joints.mat and a handful of its real photos (the
  other images missing) and one corrupt image; skips where ../shared/data is absent."""
  import shutil
  if not (LSPET / "joints.mat").is_file():
    pytest.skip(f"LSP-extended not in {LSPET.resolve()} (CI has it at ../shared/data/lspet)")
  manual = root / "manual"
  (manual / "images").mkdir(parents=True)
  shutil.copy(LSPET / "joints.mat", manual / "joints.mat")
  for i in images:
    shutil.copy(LSPET / "images" / f"im{i:05d}.jpg", manual / "images")
  (manual / "images" / f"im{images.stop:05d}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
  return manual
