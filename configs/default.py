"""Defaults for every msposejax config: the paper's full model (MSS + MSR, 8 stacks, 256 px).

Variants in this folder are small deltas of this file. The returned config is locked, so a
misspelt field in a variant or on the command line (`--config.model.num_stakcs=2`) is an
error, not a silent new field.

Command: msposejax describe --config configs/default.py
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.input_size = 256          # square input crop, px

  config.model = ml_collections.ConfigDict()
  config.model.num_stacks = 8
  config.model.features = 256      # channels C of every hourglass
  config.model.depth = 4           # hourglass levels: 64 → 4 px and back
  config.model.num_joints = 16
  config.model.mss = True          # multi-scale supervision heads (DESIGN §2)
  config.model.msr = True          # multi-scale regression network (DESIGN §2)
  config.model.msr_upsample = "bilinear"  # how MSR-net resizes coarse heatmaps
  config.model.remat = False       # rematerialise stacks: less memory, more compute
  config.model.dtype = "float32"   # compute dtype: float32 | bfloat16 (params stay f32)

  # Targets: one Gaussian per joint at every decoder resolution, full resolution first.
  config.targets = ml_collections.ConfigDict()
  config.targets.sigma_per_scale = (1.0, 1.0, 1.0, 1.0)  # σ in px of each resolution

  config.loss = ml_collections.ConfigDict()
  config.loss.intermediate = "structure"  # MSS heads of every stack: mse | structure
  config.loss.final = "structure"         # MSR-net output: mse | structure
  config.loss.structure_alpha = 0.5       # α of the neighbour-group term (DESIGN §3)
  config.loss.scale_weights = (1.0, 1.0, 1.0, 1.0)  # λ_r, full resolution first
  config.loss.msr_weight = 1.0

  config.decode = ml_collections.ConfigDict()
  config.decode.method = "quarter"        # quarter | parabola (codecs.decode)
  config.decode.flip_test = True
  return config
