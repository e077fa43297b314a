"""Each dataset's settings, shared by every variant that trains on it (not a config itself).

A variant calls these on configs/default.py's config:
  config = datasets.use_mpii_data(default.get_config())
Each function sets the dataset, its joint count, and what the dataset decides: augmentation
ranges, crop, target σ, and for the large datasets the schedule measured in their epochs.
"""

import ml_collections


def use_mpii_data(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """MPII settings shared by every *_mpii config."""
  config.data.dataset = "mpii_human_pose"
  config.data.center_shift = 15.0        # MPII centres sit high on the body (docs/method.md §1)
  config.total_steps = 150_000           # batch 16: ~108 epochs of 22,246 people
  config.optimizer.decay_steps = (100_000, 130_000)
  config.eval_every = 5000
  return config


def use_lsp_data(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """LSP-extended settings shared by the CPU LSP configs (lsp_cpu, ablation_lsp)."""
  config.data.dataset = "lsp/extended"
  config.model.num_joints = 14
  # Real people in sports poses: the paper's rotation range, a wider scale range.
  config.data.augment.rotation = 30.0
  config.data.augment.rotation_prob = 0.5
  config.data.augment.scale_min = 0.75
  config.data.augment.scale_max = 1.25
  return config


def use_coco_data(config: ml_collections.ConfigDict, dataset: str = "coco/2017"
                  ) -> ml_collections.ConfigDict:
  """COCO keypoints, top-down (docs/data.md): 17 joints, 256×192 crops of
  the person box widened to 3:4 and padded 1.25× (HRNet's and mmpose's), their augmentation
  ranges (scale ±35%, rotation ±45° with probability 0.6, flips; ours drawn uniformly, HRNet's
  from clipped normals), Gaussians of σ = 2 px on the 64×48 maps (docs/method.md §10)."""
  config.data.dataset = dataset
  config.model.num_joints = 17
  with config.ignore_type():  # n in default.py; (H, W) here
    config.input_size = (256, 192)
  config.data.scale_factor = 1.25
  config.data.center_shift = 0.0
  config.data.augment.scale_min = 0.65
  config.data.augment.scale_max = 1.35
  config.data.augment.rotation = 45.0
  config.data.augment.rotation_prob = 0.6
  config.targets.sigma_per_scale = (2.0, 1.5, 1.0, 1.0)
  return config


def use_coco_recipe(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """HRNet's COCO schedule (w32_256x192_adam_lr1e-3): Adam 1e-3, batch 128, 210 epochs of the
  149,813 training people, learning rate ×0.1 at epochs 170 and 200; mmpose's 500-step warmup;
  the AP every 10 epochs."""
  steps_per_epoch = 149_813 // 128
  config.batch_size = 128
  config.eval_batch_size = 64
  config.optimizer.name = "adamw"
  config.optimizer.learning_rate = 1e-3
  config.optimizer.weight_decay = 0.0
  config.optimizer.schedule = "step"
  config.optimizer.warmup_steps = 500
  config.optimizer.decay_steps = (170 * steps_per_epoch, 200 * steps_per_epoch)
  config.total_steps = 210 * steps_per_epoch
  config.eval_every = 10 * steps_per_epoch
  config.checkpoint.every = 5000
  return config
