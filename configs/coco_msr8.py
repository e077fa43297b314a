"""The paper's model on COCO keypoints, top-down: 8 stacks with MSS heads, a residual MSR-net
and the structure-aware loss over COCO's limbs, at 256×192 (H×W), in one stage.

Command: (COCO 2017 as downloaded in DIR: annotations/ train2017/ val2017/)
  msposejax train --config configs/coco_msr8.py --workdir runs/coco_msr8 \
    --config.data.manual_dir=DIR
  msposejax eval --checkpoint runs/coco_msr8 \
    --config.topdown.detections=DIR/COCO_val2017_detections_AP_H_56_person.json
One stage instead of the paper's three on MPII (MSS, then MSR, then keypoint masking): the
residual MSR-net starts from the last stack's heatmaps (docs/method.md §2), so training it
from the start costs no stage; the recipe is HRNet's, as in coco_hourglass8.py; needs an
accelerator.
Anchors (COCO val2017, the AP-56.4 person detections, flip test): mmpose's 8-stack hourglass
at 256×256: AP 72.6; HRNet-W32 at 256×192: AP 74.4.
Result: not yet trained by us.
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
datasets = load_sibling(__file__, "datasets")


def get_config():
  config = datasets.use_coco_recipe(datasets.use_coco_data(default.get_config()))
  config.model.msr_residual = True
  return config
