"""Newell's stacked hourglass with 2 stacks (the princeton-vl port's 88.3 PCKh@0.5 model).

Command: msposejax describe --config configs/hourglass2.py
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
recipes = load_sibling(__file__, "recipes")


def get_config():
  config = recipes.newell_hourglass(default.get_config())
  config.model.num_stacks = 2
  return config
