"""Stage 1 of the recipe (docs/method.md §5): MSS-net, 8 stacks, multi-scale supervision, MSE.

Command: msposejax train --config configs/mss8_mpii.py --workdir runs/mss8_mpii \
           --config.data.manual_dir=/path/to/mpii
Large batches on a TPU pod: add --config.batch_size=256 --config.optimizer.base_batch_size=16
  --config.optimizer.warmup_steps=2000 (learning rate scaled linearly with the batch).
Result: not yet trained by us (the paper reports 87.6 PCKh@0.5 for +MSS on MPII validation).
"""

from msposejax.config_files import load_sibling


def use_mpii_data(config):
  """MPII settings shared by every *_mpii config."""
  config.data.dataset = "mpii_human_pose"
  config.data.center_shift = 15.0        # MPII centres sit high on the body (docs/method.md §1)
  config.total_steps = 150_000           # batch 16: ~108 epochs of 22,246 people
  config.optimizer.decay_steps = (100_000, 130_000)
  config.eval_every = 5000
  return config


def get_config():
  config = load_sibling(__file__).get_config()
  use_mpii_data(config)
  config.model.msr = False
  config.loss.intermediate = "mse"
  config.loss.final = "mse"
  return config
