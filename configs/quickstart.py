"""CPU quickstart: a small MSS + MSR model on synthetic people, trained and evaluated.

Command: msposejax train --config configs/quickstart.py --workdir runs/quickstart
(the README's main job)
Result (2-core AMD EPYC dev VM, 2026-12-02, fresh data folder): 11.6 min end to end (data
generation included), PCKh@0.5 = 81.54% (@0.2 53.81%) on the 500 synthetic validation people
with flip test; with the 2026-12-01 defaults (balanced λ_r, hashed data seed;
docs/method.md §3, §5). Before them: 81.00% in 11.7 min (2026-11-25).
"""

from msposejax.config_files import load_sibling


def get_config():
  config = load_sibling(__file__).get_config()
  config.input_size = 128
  config.model.num_stacks = 2
  config.model.features = 48
  config.model.depth = 3                 # 32 px maps → decoder at 32, 16, 8 px
  config.model.stem_features = (16, 32)
  # σ of 2 px on the 32-px maps (σ = 8 input px, the usual σ for this input size): with 1 px,
  # a peak 2 px off earns nothing and a short run barely learns the full-resolution heads.
  config.targets.sigma_per_scale = (2.0, 1.5, 1.0)
  config.loss.scale_weights = (1.0, 1.0, 1.0)
  config.data.worker_count = 1
  config.batch_size = 16
  config.eval_batch_size = 32
  # A short run converges faster with AdamW + warmup + cosine than the long RMSProp recipe.
  config.optimizer.name = "adamw"
  config.optimizer.learning_rate = 3e-3
  config.optimizer.schedule = "cosine"
  config.optimizer.warmup_steps = 50
  # Each image is seen ~4 times in this run: mild augmentation learns faster.
  config.data.augment.rotation = 15.0
  config.data.augment.rotation_prob = 0.4
  config.data.augment.scale_min = 0.85
  config.data.augment.scale_max = 1.15
  config.decode.method = "parabola"      # sub-pixel refinement matters on 32-px maps
  config.total_steps = 1650
  config.log_every = 50
  config.eval_every = 0                  # evaluate once, at the end, on all 500 people
  config.checkpoint.every = 200
  return config
