"""Input-pipeline throughput per process, and the MPII stored-crop size/decode win.

Usage: python bench/input_pipeline.py [--num 400]
Prints JSON lines:
  - "train_transform": examples/s of the full training transform (decode, affine crop,
    colour jitter, keypoint masking on, targets at every MSS scale) in ONE process, for the
    synthetic set and the MPII sample, at 256×256 (the paper's input);
  - "mpii_storage": JPEG bytes and decode ms of the full photos vs the stored person crops.
"""

import json
import pathlib
import shutil
import tempfile
import time

import numpy as np
import tensorflow_datasets as tfds
from absl import app, flags

from msposejax.config_files import load_config
from msposejax.data import features, mpii, pipeline, transforms

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = REPO / "tests" / "fixtures" / "mpii_sample"
_NUM = flags.DEFINE_integer("num", 400, "examples per measurement")


def rate(records, config, num):
  rng = np.random.default_rng(0)
  spec = transforms.ExampleSpec.from_config(config)
  transforms.train_example(records[0], rng, spec)  # warm-up
  t = time.perf_counter()
  for i in range(num):
    transforms.train_example(records[i % len(records)], np.random.default_rng(i), spec)
  return num / (time.perf_counter() - t)


def decode_ms(blobs, repeat=20):
  t = time.perf_counter()
  for _ in range(repeat):
    for b in blobs:
      features.decode_image(b)
  return 1000 * (time.perf_counter() - t) / (repeat * len(blobs))


def main(argv):
  del argv
  config = load_config(REPO / "configs" / "mss8_msr.py")  # 256×256, 4 MSS scales
  with config.unlocked():
    config.data.mask.prob = 1.0
  tmp = pathlib.Path(tempfile.mkdtemp())
  try:
    with config.unlocked():
      config.data.dataset = "synthetic_people/small"
      config.data.tfds_data_dir = str(tmp / "tfds")
    synthetic = pipeline.open_source(config, "train")
    synth_records = [synthetic[i] for i in range(64)]
    manual = tmp / "manual"
    (manual / "images").mkdir(parents=True)
    for f in SAMPLE.glob("*.jpg"):
      shutil.copy(f, manual / "images" / f.name)
    shutil.copy(SAMPLE / "test_mpii.json", manual / "train.json")
    builder = mpii.MpiiHumanPose(data_dir=str(tmp / "tfds"), file_format="array_record")
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    source = builder.as_data_source("train")
    mpii_records = [source[i] for i in range(len(source))]
    with config.unlocked():
      config.data.center_shift = 15.0
    for name, records in (("synthetic_people", synth_records), ("mpii_sample", mpii_records)):
      print(json.dumps({"bench": "train_transform", "dataset": name, "input": 256,
                        "masking": True, "examples_per_s_one_process":
                        round(rate(records, config, _NUM.value), 1)}))
    full = [f.read_bytes() for f in sorted(SAMPLE.glob("*.jpg"))]
    crops = [r["image"] for r in mpii_records]
    print(json.dumps({"bench": "mpii_storage", "people": len(crops),
                      "full_photo_kb_mean": round(np.mean([len(b) for b in full]) / 1024, 1),
                      "stored_crop_kb_mean": round(np.mean([len(b) for b in crops]) / 1024, 1),
                      "full_photo_decode_ms": round(decode_ms(full), 2),
                      "stored_crop_decode_ms": round(decode_ms(crops), 2)}))
  finally:
    shutil.rmtree(tmp)


if __name__ == "__main__":
  app.run(main)
