"""Configs of the training tests on the small synthetic dataset (the `tfds_dir` and `tiny_run`
fixtures live in tests/conftest.py, so that one of each serves every test package)."""


from msposejax.config_files import load_config
from tests.conftest import REPO


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
