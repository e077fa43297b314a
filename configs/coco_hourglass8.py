"""Baseline on COCO keypoints, top-down: Newell's 8-stack hourglass at 256×192 (H×W).

Command: (COCO 2017 as downloaded in DIR: annotations/ train2017/ val2017/)
  msposejax train --config configs/coco_hourglass8.py --workdir runs/coco_hourglass8 \
    --config.data.manual_dir=DIR
  msposejax eval --checkpoint runs/coco_hourglass8 \
    --config.topdown.detections=DIR/COCO_val2017_detections_AP_H_56_person.json
The recipe is HRNet's (Adam 1e-3, batch 128, 210 epochs, ×0.1 at epochs 170 and 200) on
HRNet's and mmpose's data pipeline (docs/method.md §10); needs an accelerator.
Anchors (COCO val2017, the AP-56.4 person detections, flip test): mmpose's 8-stack hourglass
at 256×256: AP 72.6; HRNet-W32 at 256×192: AP 74.4.
Result: not yet trained by us.
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
datasets = load_sibling(__file__, "datasets")
recipes = load_sibling(__file__, "recipes")


def get_config():
  config = datasets.use_coco_data(recipes.newell_hourglass(default.get_config()))
  return datasets.use_coco_recipe(config)
