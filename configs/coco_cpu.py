"""COCO keypoints end to end on a 2-core CPU: a small MSS + MSR model at 128×96 (H×W),
trained on the people of ../shared/data/coco_sample and evaluated (OKS AP, COCO's
evaluator) on the photos held out of it. It shows the path works; it is no benchmark.

Command:
  msposejax train --config configs/coco_cpu.py --workdir runs/coco_cpu
(`--config.data.manual_dir=DIR` for another copy of the sample: person_keypoints_train2017.json
and images/.) The sample's images whose id is a multiple of 5 are the validation split.
Result: docs/benchmarks.md#configscoco_cpupy (the path runs: prepare, train, evaluate photos
with COCO's evaluator, best checkpoint by AP; 60 training people teach a mean pose).
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
datasets = load_sibling(__file__, "datasets")
recipes = load_sibling(__file__, "recipes")


def get_config():
  config = datasets.use_coco_data(recipes.cpu_recipe(default.get_config()),
                                  "coco/train=person_keypoints_train2017,holdout=5")
  config.data.manual_dir = "../shared/data/coco_sample"
  config.input_size = (128, 96)          # 32×24 maps → decoder at 32×24, 16×12, 8×6
  config.targets.sigma_per_scale = (2.0, 1.5, 1.0)
  config.optimizer.warmup_steps = 30
  config.total_steps = 400
  config.log_every = 50
  config.eval_every = 0
  config.checkpoint.every = 200
  config.num_visualize = 8
  return config
