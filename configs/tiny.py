"""A tiny MSS + MSR model for tests and smoke runs: 64 px input, 2 stacks, 32 channels.

Command: msposejax describe --config configs/tiny.py
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)


def get_config():
  config = default.get_config()
  config.input_size = 64
  config.model.num_stacks = 2
  config.model.features = 32
  config.model.depth = 2            # 16 px maps → decoder at 16 and 8 px
  config.targets.sigma_per_scale = (1.0, 1.0)
  config.loss.scale_weights = (1.0, 1.0)
  return config
