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
