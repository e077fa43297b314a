"""What a model trained only on synthetic people predicts on real MPII photos.

  python bench/synthetic_on_mpii.py --checkpoint runs/quickstart \
      --out docs/images/synthetic_model_on_mpii_sample.png

Predicts the people of the MPII sample (../shared/data/mpii_sample, copied to
tests/fixtures/mpii_sample) from their annotated centre and scale, with flip test, prints
PCKh@0.5 and @0.2 over them (head size from the neck–head-top box, docs/data.md) and draws
ground truth (left) next to the prediction (right) for each person.
"""

from __future__ import annotations

import json
import os

import numpy as np
from absl import app, flags
from PIL import Image

from msposejax.data import mpii
from msposejax.evaluation.pckh import head_size_from_box, pckh
from msposejax.draw import draw_skeleton, grid, thumbnail
from msposejax.inference.predictor import Predictor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CHECKPOINT = flags.DEFINE_string("checkpoint", "runs/quickstart", "workdir or step directory")
_DATA = flags.DEFINE_string("data", os.path.join(REPO, "tests", "fixtures", "mpii_sample"),
                            "folder with test_mpii.json and the images")
_OUT = flags.DEFINE_string("out", "docs/images/synthetic_model_on_mpii_sample.png", "PNG")


def main(argv):
  del argv
  predictor = Predictor.from_checkpoint(_CHECKPOINT.value)
  people = mpii.load_json(os.path.join(_DATA.value, "test_mpii.json"))
  images = [np.asarray(Image.open(os.path.join(_DATA.value, p.image)).convert("RGB"))
            for p in people]
  boxes = [{"center": p.center, "scale": p.scale} for p in people]
  results = predictor.predict(images, boxes)
  pred = np.stack([r["keypoints"] for r in results])
  gt = np.stack([p.joints for p in people])
  vis = np.stack([p.visible for p in people])
  heads = np.stack([mpii.derived_head_box(p.joints, p.visible, p.scale) for p in people])
  size = head_size_from_box(heads)
  report = {f"pckh@{t}": pckh(pred, gt, vis, size, t)["mean"] for t in (0.5, 0.2)}
  err = np.linalg.norm(pred - gt, axis=-1)[vis] / np.repeat(size, vis.sum(1))
  report.update(people=len(people), median_error_in_head_sizes=float(np.median(err)),
                checkpoint=_CHECKPOINT.value, step=predictor.step)
  print(json.dumps(report, indent=1))
  tiles = []
  for image, person, result in zip(images, people, results):
    # Crop around the person for legibility: 1.3 × the annotated height, square.
    side = 200 * person.scale * 1.3
    x0, y0 = (person.center - side / 2).astype(int)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = int(x0 + side), int(y0 + side)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    offset = np.array([x0, y0])
    width = max(2, int(side / 120))
    labelled = np.where(person.visible[:, None], person.joints, np.nan)  # NaN: not drawn
    tiles.append(thumbnail(draw_skeleton(crop, labelled - offset, width=width), 320))
    tiles.append(thumbnail(draw_skeleton(crop, result["keypoints"] - offset, result["scores"],
                                         width=width), 320))
  Image.fromarray(grid(tiles, columns=4)).save(_OUT.value)
  print(f"wrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
