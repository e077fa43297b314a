"""Stage 3: fine-tune the whole MSS+MSR network with keypoint masking on (paper Sect. 3.4).

Command: msposejax train --config configs/msr8_mpii_kpmask.py --workdir runs/msr8_mpii_kpmask \
           --config.data.manual_dir=/path/to/mpii --config.init_from=runs/msr8_mpii
Result: not yet trained by us (the paper: 88.4 PCKh@0.5 on MPII validation).
Stage 2's settings (recipes.mpii_msr_stage: its residual MSR-net) with its own start, masking
and schedule; continues the data stream after stages 1 and 2. Keypoint masking stays as in the
paper: the CPU ablation cannot resolve its claimed +0.1
(results: docs/benchmarks.md#configsablation_lsppy, docs/ablation.md).
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
datasets = load_sibling(__file__, "datasets")
recipes = load_sibling(__file__, "recipes")


def get_config():
  config = recipes.mpii_msr_stage(datasets.use_mpii_data(default.get_config()))
  config.init_from = "runs/msr8_mpii"
  config.data.mask.prob = 0.5
  config.optimizer.learning_rate = 1e-4
  config.optimizer.schedule = "constant"
  config.total_steps = 30_000
  return config
