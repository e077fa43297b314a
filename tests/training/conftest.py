"""A small prepared synthetic dataset shared by the training tests."""

import pytest

from msposejax.config_files import load_config
from msposejax.data import pipeline
from tests.conftest import REPO


@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory):
  path = tmp_path_factory.mktemp("tfds")
  cfg = load_config(REPO / "configs" / "tiny.py")
  with cfg.unlocked():
    cfg.data.dataset = "synthetic_people/small"
    cfg.data.tfds_data_dir = str(path)
  pipeline.prepare(cfg)
  return path


def small_config(tfds_dir, **overrides):
  cfg = load_config(REPO / "configs" / "tiny.py")
  with cfg.unlocked():
    cfg.data.dataset = "synthetic_people/small"
    cfg.data.tfds_data_dir = str(tfds_dir)
    cfg.data.worker_count = 0
    cfg.batch_size = 8
    cfg.eval_batch_size = 8
    cfg.optimizer.schedule = "constant"
    cfg.optimizer.learning_rate = 1e-3
    for key, value in overrides.items():
      node = cfg
      *path, last = key.split(".")
      for p in path:
        node = node[p]
      node[last] = value
  return cfg


def cli_overrides(tfds_dir):
  return ["--config", str(REPO / "configs" / "tiny.py"),
          "--config.data.dataset=synthetic_people/small",
          f"--config.data.tfds_data_dir={tfds_dir}", "--config.data.worker_count=0",
          "--config.batch_size=8", "--config.eval_batch_size=8",
          "--config.optimizer.schedule=constant", "--config.eval_num_examples=16"]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tfds_dir):
  """A finished 4-step tiny training (checkpoints at steps 2 and 4), trained on the 8 fake
  devices with FSDP-sharded parameters, shared by the tests that only read it (predictor,
  notebook, damaged checkpoints; tests that change it copy it first). Returns (path, config).

  Its tests share the xdist group "tiny_run", so one test process trains it once."""
  from msposejax.training.loop import train
  path = tmp_path_factory.mktemp("tiny_run")
  cfg = small_config(tfds_dir, total_steps=4, log_every=1, eval_num_examples=8,
                     num_visualize=0, **{"mesh.fsdp": 2, "checkpoint.every": 2})
  train(cfg, path)
  return path, cfg
