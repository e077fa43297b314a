"""Baseline: Newell's 8-stack hourglass on MPII (256×256, RMSProp 2.5e-4, MSE).

Command: msposejax train --config configs/hourglass8_mpii.py --workdir runs/hourglass8_mpii \
           --config.data.manual_dir=/path/to/mpii
Result: not yet trained by us (no MPII images or accelerator in our CI); the princeton-vl
PyTorch port reports 90.2 PCKh@0.5 on validation for this network.
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
datasets = load_sibling(__file__, "datasets")
recipes = load_sibling(__file__, "recipes")


def get_config():
  return datasets.use_mpii_data(recipes.newell_hourglass(default.get_config()))
