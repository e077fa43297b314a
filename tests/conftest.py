"""Test setup: 8 fake CPU devices (sharding tests) and the repository root for configs."""

import os
import pathlib

# Must happen before JAX initialises its backend.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402

from msposejax.config_files import load_config  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_config():
  return load_config(REPO / "configs" / "tiny.py")
