"""Test setup: 8 fake CPU devices (sharding tests) and the repository root for configs."""

import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]

# Must happen before JAX initialises its backend.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One persistent XLA compilation cache for the whole suite, inherited by the xdist workers and
# by the `msposejax` subprocesses the tests start: they compile the same tiny init, train step
# and predict functions dozens of times, and compiling is most of the suite's time. Keyed by
# the HLO, the flags and the JAX version, so a code change never reads a stale entry.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      str(REPO / ".pytest_cache" / "jax_compilation_cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")

import pytest  # noqa: E402

from msposejax.config_files import load_config  # noqa: E402


# Session fixtures defined here, once: a module that imports a fixture gets its own copy
# (pytest keys fixtures by where they are defined), so each importing module trained anew.
@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory):
  path = tmp_path_factory.mktemp("tfds")
  cfg = load_config(REPO / "configs" / "tiny.py")
  with cfg.unlocked():
    cfg.data.dataset = "synthetic_people/small"
    cfg.data.tfds_data_dir = str(path)
  from msposejax.data import pipeline
  pipeline.prepare(cfg)
  return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tfds_dir):
  """A finished 4-step tiny training (checkpoints at steps 2 and 4), trained on the 8 fake
  devices with FSDP-sharded parameters, shared by the tests that only read it (predictor,
  notebook, video, damaged checkpoints; tests that change it copy it first). Returns (path, config).

  Each test process trains it at most once; its modules are spread over the processes (one
  xdist group per module) rather than queued behind each other in one."""
  from msposejax.training.loop import train
  from tests.training.conftest import small_config
  path = tmp_path_factory.mktemp("tiny_run")
  cfg = small_config(tfds_dir, total_steps=4, log_every=1, eval_num_examples=8,
                     num_visualize=0, **{"mesh.fsdp": 2, "checkpoint.every": 2})
  train(cfg, path)
  return path, cfg


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
