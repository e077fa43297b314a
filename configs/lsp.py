"""The paper-sized model (8 stacks, 256 px, MSS + MSR) on LSP-extended, for a GPU or TPU.

Command: (LSP-extended's joints.mat + images/ in DIR)
  msposejax train --config configs/lsp.py --config.data.manual_dir=DIR --workdir runs/lsp
Result: not measured (no accelerator has run it yet).
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)


def get_config():
  config = default.get_config()
  config.data.dataset = "lsp/extended"
  config.model.num_joints = 14
  # ~8,550 training images: 150 epochs at batch 16 is ~80k steps (the hourglass LSP recipes
  # train 100-250 epochs), the learning rate ×0.1 at 2/3 and 8/9 of the run.
  config.total_steps = 80_000
  config.optimizer.decay_steps = (55_000, 70_000)
  config.eval_every = 5000
  return config
