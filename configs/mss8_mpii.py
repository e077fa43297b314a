"""Stage 1 of the recipe (docs/method.md §5): MSS-net, 8 stacks, multi-scale supervision, MSE.

Command: msposejax train --config configs/mss8_mpii.py --workdir runs/mss8_mpii \
           --config.data.manual_dir=/path/to/mpii
Large batches on a TPU pod: add --config.batch_size=256 --config.optimizer.base_batch_size=16
  --config.optimizer.warmup_steps=2000 (learning rate scaled linearly with the batch).
Result: not yet trained by us (the paper reports 87.6 PCKh@0.5 for +MSS on MPII validation).
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
datasets = load_sibling(__file__, "datasets")


def get_config():
  config = datasets.use_mpii_data(default.get_config())
  config.model.msr = False
  config.loss.intermediate = "mse"
  config.loss.final = "mse"
  return config
