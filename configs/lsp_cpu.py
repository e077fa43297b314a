"""LSP-extended on a 2-core CPU: a small MSS + MSR model trained on 8,550 real photos.

Command: (LSP-extended's joints.mat + images/ in DIR; data preparation included)
  msposejax train --config configs/lsp_cpu.py --config.data.manual_dir=DIR --workdir runs/lsp_cpu
Result: docs/benchmarks.md#configslsp_cpupy (time end to end, PCK@0.2; docs/real_photos.md has
the learning curve and what limits it).
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
datasets = load_sibling(__file__, "datasets")
recipes = load_sibling(__file__, "recipes")


def get_config():
  config = datasets.use_lsp_data(recipes.cpu_recipe(default.get_config()))
  config.model.features = 64
  config.model.stem_features = (32, 64)
  config.optimizer.learning_rate = 2e-3
  config.optimizer.warmup_steps = 100
  config.total_steps = 3900
  config.log_every = 100
  config.eval_every = 1300                # the learning curve: PCK@0.2 every 1300 steps
  config.checkpoint.every = 500
  return config
