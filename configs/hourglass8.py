"""Newell's stacked hourglass, 8 stacks, 256 channels: no MSS heads, no MSR-net, MSE loss.

Layer for layer the princeton-vl PyTorch port (see docs/models.md for the parameter count).
Command: msposejax describe --config configs/hourglass8.py
"""

from msposejax.config_files import load_sibling


def get_config():
  config = load_sibling(__file__).get_config()
  config.model.mss = False
  config.model.msr = False
  config.loss.intermediate = "mse"
  config.loss.final = "mse"
  return config
