"""LSP-extended on a 2-core CPU: a small MSS + MSR model trained on 8,550 real photos.

Command: (LSP-extended's joints.mat + images/ in DIR; data preparation included)
  msposejax train --config configs/lsp_cpu.py --config.data.manual_dir=DIR --workdir runs/lsp_cpu
Result (2-core CPU dev machine, 2026-12-01, empty TFDS folder, the 9,500 photos of
../shared/data/lspet): 53.5 min end to end, PCK@0.2 = 42.65% (torso, flip test) on the 670
of the 950 validation people that have a torso; underfits after 7.3 epochs
(docs/real_photos.md: learning curve, what limits it).
Measured before the 2026-12-01 defaults (balanced λ_r, hashed data seed; docs/method.md §3,
§5); not re-measured since.
"""

from msposejax.config_files import load_sibling


def get_config():
  config = load_sibling(__file__, "quickstart").get_config()
  config = load_sibling(__file__).use_lsp_data(config)
  config.model.features = 64
  config.model.stem_features = (32, 64)
  config.optimizer.learning_rate = 2e-3
  config.optimizer.warmup_steps = 100
  config.total_steps = 3900
  config.log_every = 100
  config.eval_every = 1300                # the learning curve: PCK@0.2 every 1300 steps
  config.checkpoint.every = 500
  return config
