"""Newell's stacked hourglass, 8 stacks, 256 channels: no MSS heads, no MSR-net, MSE loss.

Layer for layer the princeton-vl PyTorch port (see docs/models.md for the parameter count).
Command: msposejax describe --config configs/hourglass8.py
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
recipes = load_sibling(__file__, "recipes")


def get_config():
  return recipes.newell_hourglass(default.get_config())
