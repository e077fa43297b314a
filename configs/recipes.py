"""Blocks of settings that several variants share (not a config itself).

A variant calls these on configs/default.py's config, after or before a dataset of
configs/datasets.py, as its docstring says:
  config = recipes.cpu_recipe(default.get_config())
"""

import ml_collections


def newell_hourglass(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Newell's stacked hourglass: no MSS heads, no MSR-net, MSE loss (the baselines)."""
  config.model.mss = False
  config.model.msr = False
  config.loss.intermediate = "mse"
  config.loss.final = "mse"
  return config


def cpu_recipe(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The 2-core CPU configs' model and recipe: a small MSS + MSR model at 128 px, AdamW with
  warmup and cosine decay, mild augmentation (quickstart, ablation*, lsp_cpu, coco_cpu).

  The run's length (total_steps, log_every, eval_every, checkpoint.every) is each variant's.
  """
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
  # Each image is seen ~4 times in the quickstart: mild augmentation learns faster.
  config.data.augment.rotation = 15.0
  config.data.augment.rotation_prob = 0.4
  config.data.augment.scale_min = 0.85
  config.data.augment.scale_max = 1.15
  config.decode.method = "parabola"      # sub-pixel refinement matters on 32-px maps
  return config


def ablation_budget(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The ablation's rows (bench/ablation.py): cpu_recipe's model at 32 channels, 300 steps,
  evaluated once at the end, no drawings."""
  config.model.features = 32          # faster than 48 (docs/benchmarks.md#configsablationpy)
  config.total_steps = 300
  config.log_every = 50
  config.eval_every = 0
  config.checkpoint.every = 100
  config.num_visualize = 0
  return config


def mpii_msr_stage(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Stage 2 of the MPII recipe (docs/method.md §5), inherited by stage 3: the residual
  MSR-net added to stage 1's MSS model, a shorter schedule."""
  config.init_from = "runs/mss8_mpii"
  config.model.msr_residual = True
  config.total_steps = 100_000
  config.optimizer.decay_steps = (60_000, 85_000)
  return config
