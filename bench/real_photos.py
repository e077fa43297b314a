"""An LSP-trained model's predictions drawn on real photos, and its score on the MPII sample.

  python bench/real_photos.py --checkpoint runs/lsp_cpu --config configs/lsp_cpu.py \
      --config.data.manual_dir=../shared/data/lspet

Writes (default --out_dir docs/images):
  lsp_cpu_validation.png  the first 16 LSP-extended validation people: ground truth (left),
                          prediction (right), predicted from the person's centre and scale;
  lsp_cpu_mpii.png        the 5 MPII sample people (annotated centre and scale) and the 7
                          unlabelled MPII photos (boxes in bench/mpii_test_boxes.json, drawn
                          by hand around each photo's main person), predictions only;
and prints the PCKh of the 5 MPII sample people over the 14 joints LSP and MPII share (LSP's
neck stands in for MPII's upper neck; head size from the neck–head-top box, docs/data.md).
"""

from __future__ import annotations

import json
import os

import numpy as np
from absl import app, flags
from ml_collections import config_flags
from PIL import Image

from msposejax import skeleton
from msposejax.data import features, mpii, pipeline
from msposejax.evaluation.pckh import head_size_from_box, pckh
from msposejax.draw import draw_skeleton, grid, thumbnail
from msposejax.inference.predictor import Predictor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, "..", "shared", "data")
_CONFIG = config_flags.DEFINE_config_file("config", None, "the LSP config (its dataset)")
_CHECKPOINT = flags.DEFINE_string("checkpoint", "runs/lsp_cpu", "workdir or step directory")
_OUT = flags.DEFINE_string("out_dir", os.path.join(REPO, "docs", "images"), "output folder")
_NUM = flags.DEFINE_integer("num", 16, "validation people drawn")

# LSP joint j is MPII joint LSP_TO_MPII[j] (neck → upper_neck).
LSP_TO_MPII = [skeleton.MPII.joint_index[{"neck": "upper_neck"}.get(n, n)]
               for n in skeleton.LSP.joint_names]


def _around(image, center, side):
  """Square crop of `side` px around `center` (for legibility) and its offset."""
  x0, y0 = np.maximum((np.asarray(center) - side / 2).astype(int), 0)
  return np.ascontiguousarray(image[y0:y0 + int(side), x0:x0 + int(side)]), np.array([x0, y0])


def validation_people(predictor: Predictor, config, num: int) -> np.ndarray:
  source = pipeline.open_source(config, config.data.eval_split)
  tiles = []
  for i in range(min(num, len(source))):
    rec = source[i]
    image = features.decode_image(rec["image"])
    result = predictor(image, center=rec["center"], scale=float(rec["scale"]))
    crop, off = _around(image, rec["center"], 200 * float(rec["scale"]) * 1.3)
    gt = np.where(rec["visible"][:, None], rec["joints"], np.nan)
    w = max(2, crop.shape[0] // 90)
    tiles.append(thumbnail(draw_skeleton(crop, gt - off, width=w, skel=skeleton.LSP), 192))
    tiles.append(thumbnail(draw_skeleton(crop, result["keypoints"] - off, result["scores"],
                                         width=w, skel=skeleton.LSP), 192))
  return grid(tiles, columns=8)


def mpii_photos(predictor: Predictor) -> tuple[np.ndarray, dict]:
  sample_dir = os.path.join(REPO, "tests", "fixtures", "mpii_sample")
  people = mpii.load_json(os.path.join(sample_dir, "test_mpii.json"))
  images = [np.asarray(Image.open(os.path.join(sample_dir, p.image)).convert("RGB"))
            for p in people]
  results = predictor.predict(images, [{"center": p.center, "scale": p.scale} for p in people])
  # PCKh over the shared joints, in MPII's order.
  pred = np.full((len(people), 16, 2), np.nan)
  for r, row in zip(results, pred):
    row[LSP_TO_MPII] = r["keypoints"]
  gt = np.stack([p.joints for p in people])
  vis = np.stack([p.visible for p in people])
  vis[:, [skeleton.MPII.joint_index["pelvis"], skeleton.MPII.joint_index["thorax"]]] = False
  size = head_size_from_box(np.stack([mpii.derived_head_box(p.joints, p.visible, p.scale)
                                      for p in people]))
  report = {f"mpii_sample/pckh@{t}": pckh(np.nan_to_num(pred), gt, vis, size, t)["mean"]
            for t in (0.5, 0.2)}
  tiles = []
  for image, p, r in zip(images, people, results):
    crop, off = _around(image, p.center, 200 * p.scale * 1.3)
    tiles.append(thumbnail(draw_skeleton(crop, r["keypoints"] - off, r["scores"],
                                         width=max(2, crop.shape[0] // 90), skel=skeleton.LSP),
                           224))
  with open(os.path.join(REPO, "bench", "mpii_test_boxes.json")) as f:
    boxes = json.load(f)
  for name, box in boxes.items():
    image = np.asarray(Image.open(os.path.join(SHARED, "mpii_test_images", name)).convert("RGB"))
    r = predictor(image, box=box)
    x1, y1, x2, y2 = box
    crop, off = _around(image, ((x1 + x2) / 2, (y1 + y2) / 2), max(x2 - x1, y2 - y1) * 1.3)
    tiles.append(thumbnail(draw_skeleton(crop, r["keypoints"] - off, r["scores"],
                                         width=max(2, crop.shape[0] // 90), skel=skeleton.LSP),
                           224))
  return grid(tiles, columns=6), report


def main(argv):
  del argv
  predictor = Predictor.from_checkpoint(_CHECKPOINT.value)
  if predictor.skeleton is not skeleton.LSP:
    raise app.UsageError(f"{_CHECKPOINT.value} predicts the {predictor.skeleton.name} skeleton; "
                         "this script draws LSP models")
  os.makedirs(_OUT.value, exist_ok=True)
  val = os.path.join(_OUT.value, "lsp_cpu_validation.png")
  Image.fromarray(validation_people(predictor, _CONFIG.value, _NUM.value)).save(val)
  sheet, report = mpii_photos(predictor)
  photos = os.path.join(_OUT.value, "lsp_cpu_mpii.png")
  Image.fromarray(sheet).save(photos)
  report.update(checkpoint=_CHECKPOINT.value, step=predictor.step)
  print(json.dumps(report, indent=1))
  print(f"wrote {val} and {photos}")


if __name__ == "__main__":
  app.run(main)
