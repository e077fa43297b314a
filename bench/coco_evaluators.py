"""Time of COCO keypoint evaluation: pycocotools vs faster-coco-eval on the same files.

  python bench/coco_evaluators.py                       # ../shared/data/coco_sample, x1 x50 x250
  python bench/coco_evaluators.py --copies 50 --false-positives 0.25 10 --repeats 5

Ground truth: the coco_sample annotation file (80 train2017 photos, 86 people with
keypoints), and the same file with its images repeated COPIES times under new ids (the
larger synthetic sets, to see how each evaluator scales). Results: one row per person with
keypoints, its ground truth moved by Gaussian noise of σ = 4% of sqrt(area) (unlabelled joints
at the box centre), a random score, and false positives: FP per person on average (Poisson,
--false-positives), each the person's keypoints shifted by up to its box size (a detector's
boxes leave several results per labelled person). Needs pycocotools, which msposejax does not
install (pip install pycocotools). Each evaluator loads the ground truth, loads the results, and runs
evaluate + accumulate + summarize (its printing captured); the best of REPEATS per phase,
and the process CPU time of the whole (best of REPEATS: less sensitive to a busy machine).
The 10 stats of both are compared. Results: docs/benchmarks.md ("COCO keypoint evaluators").
"""

import argparse
import contextlib
import copy
import io
import json
import os
import pathlib
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = REPO.parent / "shared" / "data" / "coco_sample" / "person_keypoints_train2017.json"

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--ground-truth", default=str(SAMPLE))
parser.add_argument("--copies", type=int, nargs="+", default=[1, 50, 250])
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--false-positives", type=float, nargs="+", default=[0.25],
                    help="false positives per person (Poisson mean), one run each")
args = parser.parse_args()


def repeated(gt: dict, copies: int) -> dict:
  """The file with its images (and their annotations) repeated under new ids."""
  out = {k: v for k, v in gt.items() if k not in ("images", "annotations")}
  out["images"], out["annotations"] = [], []
  step = max(im["id"] for im in gt["images"]) + 1
  ann_step = max(a["id"] for a in gt["annotations"]) + 1
  for c in range(copies):
    for im in gt["images"]:
      out["images"].append(dict(im, id=im["id"] + c * step))
    for a in gt["annotations"]:
      out["annotations"].append(dict(a, id=a["id"] + c * ann_step,
                                     image_id=a["image_id"] + c * step))
  return out


def noisy_results(gt: dict, rng: np.random.Generator, false_positives: float) -> list[dict]:
  rows = []
  for a in gt["annotations"]:
    if a.get("iscrowd", 0) or a["num_keypoints"] == 0:
      continue
    kp = np.asarray(a["keypoints"], np.float64).reshape(-1, 3)
    x, y, w, h = a["bbox"]
    xy = np.where(kp[:, 2:] > 0, kp[:, :2], [x + w / 2, y + h / 2])
    xy = xy + rng.normal(0, 0.04 * np.sqrt(a["area"]), xy.shape)
    shifts = rng.uniform(-1, 1, (rng.poisson(false_positives), 1, 2)) * [w, h]
    people = [xy] + list(xy + shifts)
    for p in people:
      kps = np.concatenate([p, rng.uniform(0.2, 1, (len(p), 1))], 1)
      rows.append({"image_id": a["image_id"], "category_id": 1,
                   "keypoints": kps.ravel().round(2).tolist(),
                   "score": float(rng.uniform(0.3, 1))})
  return rows


def run_pycocotools(gt_path, res_path):
  from pycocotools.coco import COCO  # pylint: disable=g-import-not-at-top
  from pycocotools.cocoeval import COCOeval  # pylint: disable=g-import-not-at-top
  times = {}
  t = time.perf_counter()
  gt = COCO(gt_path)
  times["load_gt"] = time.perf_counter() - t
  t = time.perf_counter()
  dt = gt.loadRes(res_path)
  times["load_results"] = time.perf_counter() - t
  t = time.perf_counter()
  ev = COCOeval(gt, dt, "keypoints")
  ev.evaluate()
  ev.accumulate()
  ev.summarize()
  times["evaluate"] = time.perf_counter() - t
  return times, np.asarray(ev.stats)


def run_faster(gt_path, res_path):
  from faster_coco_eval import COCO, COCOeval_faster  # pylint: disable=g-import-not-at-top
  times = {}
  t = time.perf_counter()
  gt = COCO(gt_path)
  times["load_gt"] = time.perf_counter() - t
  t = time.perf_counter()
  dt = gt.loadRes(res_path)
  times["load_results"] = time.perf_counter() - t
  t = time.perf_counter()
  ev = COCOeval_faster(gt, dt, "keypoints", print_function=print)
  ev.evaluate()
  ev.accumulate()
  ev.summarize()
  times["evaluate"] = time.perf_counter() - t
  return times, np.asarray(ev.stats[:10])


def best_of(fn, *a):
  runs, cpu = [], []
  for _ in range(args.repeats):
    with contextlib.redirect_stdout(io.StringIO()):
      t = time.process_time()
      runs.append(fn(*a))
      cpu.append(time.process_time() - t)
  times = {k: min(r[0][k] for r in runs) for k in runs[0][0]}
  times["cpu"] = min(cpu)
  return times, runs[0][1]


def main():
  import faster_coco_eval  # pylint: disable=g-import-not-at-top
  import pycocotools  # pylint: disable=g-import-not-at-top
  from importlib import metadata  # pylint: disable=g-import-not-at-top
  print(f"pycocotools {metadata.version('pycocotools')}, "
        f"faster-coco-eval {faster_coco_eval.__version__}, numpy {np.__version__}, "
        f"{os.cpu_count()} cpus")
  del pycocotools
  base = json.loads(pathlib.Path(args.ground_truth).read_text())
  print("| GT | images | people with keypoints | results | evaluator | load GT s | "
        "load results s | evaluate+accumulate+summarize s | total s | CPU s |")
  print("|---|---|---|---|---|---|---|---|---|---|")
  runs = [(c, f) for c in args.copies for f in args.false_positives]
  with tempfile.TemporaryDirectory() as tmp:
    for copies, fp in runs:
      gt = repeated(copy.deepcopy(base), copies) if copies > 1 else base
      rows = noisy_results(gt, np.random.default_rng(copies), fp)
      gt_path, res_path = os.path.join(tmp, "gt.json"), os.path.join(tmp, "res.json")
      pathlib.Path(gt_path).write_text(json.dumps(gt))
      pathlib.Path(res_path).write_text(json.dumps(rows))
      people = sum(1 for a in gt["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"])
      stats = {}
      for name, fn in (("pycocotools", run_pycocotools), ("faster-coco-eval", run_faster)):
        times, stats[name] = best_of(fn, gt_path, res_path)
        total = times["load_gt"] + times["load_results"] + times["evaluate"]
        print(f"| x{copies} | {len(gt['images'])} | {people} | {len(rows)} | {name} | "
              f"{times['load_gt']:.3f} | {times['load_results']:.3f} | "
              f"{times['evaluate']:.3f} | {total:.3f} | {times['cpu']:.3f} |")
      diff = np.abs(stats["pycocotools"] - stats["faster-coco-eval"]).max()
      print(f"|  x{copies}: AP {stats['pycocotools'][0]:.4f}; largest difference of the 10 "
            f"stats: {diff:.1e} ||||||||||")


if __name__ == "__main__":
  main()
