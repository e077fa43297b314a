"""Defaults for every msposejax config: the paper's full model (MSS + MSR, 8 stacks, 256 px).

Every variant in this folder is this file plus a few lines of its own and calls to the two
shared modules: datasets.py (each dataset's settings) and recipes.py (blocks that several
variants share). No variant loads another variant, so a variant reads in its own file, this
one and the shared pieces it names; `msposejax config show --config FILE` prints the result.
The returned config is locked, so a misspelt field in a variant or on the command line
(`--config.model.num_stakcs=2`) is an error, not a silent new field.

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
  config.model.mss = True          # multi-scale supervision heads (docs/method.md §2)
  config.model.msr = True          # multi-scale regression network (docs/method.md §2)
  config.model.msr_upsample = "bilinear"  # how MSR-net resizes coarse heatmaps
  config.model.msr_residual = False  # final = last stack's heatmaps + MSR-net's correction
  config.model.stem_features = (64, 128)  # stem conv7×7 and residual widths (Newell's)
  config.model.remat = False       # rematerialise stacks: less memory, more compute
  config.model.dtype = "float32"   # compute dtype: float32 | bfloat16 (params stay f32)

  # Targets: one Gaussian per joint at every decoder resolution, full resolution first.
  config.targets = ml_collections.ConfigDict()
  config.targets.sigma_per_scale = (1.0, 1.0, 1.0, 1.0)  # σ in px of each resolution

  config.loss = ml_collections.ConfigDict()
  config.loss.intermediate = "structure"  # MSS heads of every stack: mse | structure
  config.loss.final = "structure"         # MSR-net output: mse | structure
  config.loss.structure_alpha = 0.5       # α of the neighbour-group term (docs/method.md §3)
  config.loss.scale_weights = (1.0, 1.0, 1.0, 1.0)  # λ_r, full resolution first
  # Scale λ_r by L0(full)/L0(r), the zero-prediction losses, so every resolution has the same
  # say at the start (losses.total.scale_weights, docs/method.md §3); False: the raw λ_r.
  config.loss.balance_scales = True
  config.loss.msr_weight = 1.0

  # Input pipeline (msposejax.data): TFDS dataset read with grain.
  config.data = ml_collections.ConfigDict()
  # TFDS "name/config": synthetic_people/{default,small,hard,train=N,validation=M,seed=S,hard=1}
  # or mpii_human_pose.
  config.data.dataset = "synthetic_people/default"
  config.data.tfds_data_dir = ""      # "" = TFDS default (~/tensorflow_datasets or $TFDS_DATA_DIR)
  config.data.manual_dir = ""         # MPII: folder with the images and annotations
  config.data.train_split = "train"
  config.data.eval_split = "validation"
  config.data.scale_factor = 1.25     # crop side = 200·scale·1.25 (docs/method.md §1)
  config.data.center_shift = 0.0      # move the centre down by this many px per unit scale
  # Examples of the seed's training stream to skip; -1 = auto: 0 from scratch, and with
  # init_from all examples the source run (and its ancestors) drew, so a stage sees new data.
  config.data.stream_start = -1
  config.data.worker_count = 2        # grain worker processes per host (0 = in-process)
  config.data.augment = ml_collections.ConfigDict()
  config.data.augment.scale_min = 0.75
  config.data.augment.scale_max = 1.25
  config.data.augment.rotation = 30.0   # degrees, uniform in ±rotation ...
  config.data.augment.rotation_prob = 0.6  # ... with this probability
  config.data.augment.flip_prob = 0.5
  config.data.augment.colour = 0.2      # per-channel gain in 1 ± colour
  config.data.mask = ml_collections.ConfigDict()   # keypoint masking (docs/method.md §4)
  config.data.mask.prob = 0.0           # off by default; the kpmask stage turns it on
  config.data.mask.size = 0.15          # patch side as a fraction of the input crop
  config.data.mask.occlude_ratio = 0.5  # occlude vs distract
  config.data.mask.max_keypoints = 2

  config.batch_size = 16                # global, over all processes and devices
  config.eval_batch_size = 16           # per process

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.name = "rmsprop"        # rmsprop (hourglass recipe) | adamw
  config.optimizer.learning_rate = 2.5e-4
  config.optimizer.schedule = "step"       # constant | cosine | step
  config.optimizer.decay_steps = (150_000, 200_000)  # step schedule boundaries
  config.optimizer.decay_factor = 0.1
  config.optimizer.warmup_steps = 0
  config.optimizer.base_batch_size = 0     # > 0: lr × batch_size / base_batch_size
  config.optimizer.weight_decay = 0.0      # adamw only
  config.optimizer.grad_clip = 0.0         # global-norm clipping; 0 = off

  config.mesh = ml_collections.ConfigDict()
  config.mesh.fsdp = 1                     # devices per FSDP group (1 = replicated params)

  config.total_steps = 220_000
  config.log_every = 100
  config.eval_every = 5000                 # 0 = only at the end
  config.eval_num_examples = 0             # 0 = the whole eval split
  config.num_visualize = 16                # validation crops drawn into predictions.png
  config.init_from = ""                    # checkpoint (workdir or step dir) to start from
  config.checkpoint = ml_collections.ConfigDict()
  config.checkpoint.every = 1000
  config.checkpoint.keep = 3               # latest kept, plus the best by PCKh@0.5

  config.decode = ml_collections.ConfigDict()
  config.decode.method = "quarter"        # quarter | parabola (codecs.decode)
  config.decode.flip_test = True

  # `msposejax predict --video`: one person followed frame to frame (inference/tracking.py).
  config.video = ml_collections.ConfigDict()
  config.video.min_cutoff = 1.0   # One-Euro filter, Hz at rest: lower = smoother, more lag
  config.video.beta = 1.0         # cutoff rise per (box side / s) of speed: higher = less lag
  config.video.d_cutoff = 1.0     # Hz, smoothing of the speed estimate
  config.video.min_score = 0.2    # joints at least this confident place the next frame's box
  config.video.min_joints = 4     # with fewer, the next frame keeps this frame's box
  config.video.max_change = 1.25  # the box's side changes by at most this factor per frame
  config.video.fps = 30.0         # frame rate of a folder of frames (videos carry their own)

  # Top-down evaluation on COCO-format data (docs/method.md §10): boxes, rescoring, NMS.
  config.topdown = ml_collections.ConfigDict()
  config.topdown.detections = ""      # HRNet-format person detections; "" = ground-truth boxes
  config.topdown.min_box_score = 0.0  # detections below it are dropped (HRNet: none dropped)
  config.topdown.keypoint_threshold = 0.2  # rescoring: mean of the joint scores above it
  config.topdown.oks_nms = 0.9        # OKS-NMS threshold per image
  return config
