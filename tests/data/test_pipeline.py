"""grain pipeline: auto-prepare, targets/weights, determinism, resume order, bad records."""

import gc
import logging
import pickle
from multiprocessing import shared_memory

import grain
import jax
import numpy as np
import pytest

from msposejax.codecs.multiscale import MultiScaleCodec
from msposejax.data import augment, features, pipeline, transforms
from msposejax.data.synthetic import generate_example
from tests.conftest import REPO
from msposejax.config_files import load_config

# Module-scoped fixtures: its tests stay in one xdist test process (`-n auto --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("pipeline")


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
  config = load_config(REPO / "configs" / "tiny.py")
  with config.unlocked():
    config.data.dataset = "synthetic_people/small"
    config.data.tfds_data_dir = str(tmp_path_factory.mktemp("tfds"))
    config.data.worker_count = 0
    config.batch_size = 4
  return config


def record(i=0):
  ex = generate_example(0, i)
  return {"image": features.encode_jpeg(ex["image"]), "image_name": b"x", "joints": ex["joints"],
          "visible": ex["visible"], "center": ex["center"], "scale": ex["scale"],
          "head_box": ex["head_box"], "offset": np.zeros(2, np.float32), "zoom": 1.0,
          "occluded": False, "crowded": False, "scale_small": False}


def test_unprepared_synthetic_data_is_generated_on_first_use(cfg):
  source = pipeline.open_source(cfg, "train")
  assert len(source) == 512
  assert len(pipeline.open_source(cfg, "validation")) == 64


def test_batches_have_targets_at_every_scale(cfg):
  batch = next(iter(pipeline.train_loader(cfg)))
  assert batch["image"].shape == (4, 64, 64, 3) and batch["image"].dtype == np.uint8
  assert sorted(batch["targets"]) == [8, 16]
  assert batch["targets"][16].shape == (4, 16, 16, 16)
  assert batch["weights"].shape == (4, 16) and batch["valid"].all()


def test_resume_from_iterator_state_gives_the_same_batches(cfg):
  it = iter(pipeline.train_loader(cfg))
  next(it)
  state = it.get_state()
  expected = [next(it) for _ in range(2)]
  resumed = iter(pipeline.train_loader(cfg))
  resumed.set_state(state)
  for want in expected:
    got = next(resumed)
    jax.tree.map(np.testing.assert_array_equal, got, want)


def test_a_later_start_continues_the_stream_on_new_examples(cfg):
  stream = iter(pipeline.train_loader(cfg))
  batches = [next(stream) for _ in range(3)]
  later = next(iter(pipeline.train_loader(cfg, start=2 * cfg.batch_size)))
  jax.tree.map(np.testing.assert_array_equal, later, batches[2])
  assert not np.array_equal(later["image"], batches[0]["image"])


def test_neighbouring_seeds_do_not_share_a_shifted_augmentation_stream():
  import grain.python as grain
  shard = grain.ShardOptions(shard_index=0, shard_count=1)

  def draws(seed):
    sampler = grain.IndexSampler(num_records=50, shard_options=shard, shuffle=True,
                                 num_epochs=None, seed=seed)
    return [sampler[i].rng.random() for i in range(20)]

  # grain's generator of example i is Philox(seed + i): raw seeds 0 and 1 are one example apart.
  assert draws(0)[1:] == draws(1)[:-1]
  a, b = draws(pipeline.stream_seed(0)), draws(pipeline.stream_seed(1))
  assert not set(a) & set(b)


def test_same_seed_same_example_and_joints_leaving_the_crop_get_weight_zero(cfg):
  rec = record(3)
  spec = transforms.ExampleSpec.from_config(cfg)
  a = transforms.train_example(rec, np.random.default_rng(5), spec)
  b = transforms.train_example(rec, np.random.default_rng(5), spec)
  jax.tree.map(np.testing.assert_array_equal, a, b)
  # Zoom in 4× on the pelvis: extremities fall outside the crop and lose their weight.
  zoomed = dict(rec, scale=np.float32(rec["scale"] / 4), center=rec["joints"][6])
  _, xy, visible, _ = transforms.crop_person(zoomed, augment.identity_augmentation(), spec)
  ex_targets, weights = spec.codec.encode(xy, visible)
  outside = ~((xy >= -0.5) & (xy < 63.5)).all(axis=1)
  assert outside.any() and (weights[outside] == 0).all() and (weights[~outside] == 1).all()
  for maps in ex_targets.values():
    assert not maps[..., outside].any()


def test_example_spec_reads_the_config_once_and_travels_to_workers(cfg):
  spec = transforms.ExampleSpec.from_config(cfg)
  assert (spec.input_size, spec.scale_factor, spec.center_shift) == (
      cfg.input_size, cfg.data.scale_factor, cfg.data.center_shift)
  assert spec.codec == MultiScaleCodec.from_config(cfg) and spec.augment == cfg.data.augment
  # grain's worker processes get the transforms pickled; the copy makes the same examples.
  transform = pickle.loads(pickle.dumps(transforms.TrainTransform(cfg)))
  rec = record(2)
  jax.tree.map(np.testing.assert_array_equal,
               transform.random_map(rec, np.random.default_rng(1)),
               transforms.train_example(rec, np.random.default_rng(1), spec))


def test_corrupt_image_becomes_logged_invalid_padding(cfg, caplog):
  bad = dict(record(), image=b"\xff\xd8 broken", image_name=b"broken.jpg")
  with caplog.at_level(logging.WARNING):
    ex = transforms.TrainTransform(cfg).random_map(bad, np.random.default_rng(0))
    ev = transforms.EvalTransform(cfg).map(bad)
  assert not ex["valid"] and not ex["weights"].any() and not ev["valid"]
  assert "broken.jpg" in caplog.text and "cannot decode image" in caplog.text


def test_labelled_joint_with_nan_is_refused_not_rendered(cfg, caplog):
  joints = record()["joints"].copy()
  joints[4] = np.nan
  with caplog.at_level(logging.WARNING):
    ex = transforms.TrainTransform(cfg).random_map(dict(record(), joints=joints),
                                                   np.random.default_rng(0))
  assert not ex["valid"] and "non-finite" in caplog.text


def test_eval_loader_is_ordered_and_complete(cfg):
  batches = list(pipeline.eval_loader(cfg, num_examples=10))
  assert sum(len(b["valid"]) for b in batches) == 10


def test_unknown_dataset_is_a_clear_error(cfg):
  with cfg.unlocked():
    cfg.data.dataset = "h36m"
  try:
    with pytest.raises(ValueError, match="unknown dataset"):
      pipeline.builder(cfg)
  finally:
    with cfg.unlocked():
      cfg.data.dataset = "synthetic_people/small"


def test_synthetic_sizes_and_seed_come_from_the_dataset_name(tmp_path, capfd):
  config = load_config(REPO / "configs" / "tiny.py")
  with config.unlocked():
    config.data.dataset = "synthetic_people/train=20,validation=6,seed=3"
    config.data.tfds_data_dir = str(tmp_path)
  assert len(pipeline.open_source(config, "train")) == 20
  assert len(pipeline.open_source(config, "validation")) == 6
  # Prepared on first use, said in our one line; TFDS's own lines and its progress bars
  # (carriage returns and cursor moves in a pipe) stay off a console that is not a terminal.
  out, err = capfd.readouterr()
  assert out.count("preparing synthetic_people/train=20,validation=6,seed=3 in ") == 1
  assert "Downloading and preparing" not in out and "Subsequent calls" not in out
  assert "\r" not in out + err and "examples/s" not in err
  folder, sizes = pipeline.prepare(config)  # already prepared: what `data prepare` says
  assert sizes == {"train": 20, "validation": 6}
  assert folder.is_relative_to(tmp_path) and (folder / "dataset_info.json").exists()
  with config.unlocked():
    config.data.dataset = "synthetic_people/train=lots"
  with pytest.raises(ValueError, match="train=N,validation=M,seed=S"):
    pipeline.builder(config)


def test_close_frees_a_batch_left_in_a_reference_cycle_in_order(monkeypatch):
  """A loader's end leaves its last batch in cyclic garbage. `close` frees it itself, not
  through grain's unlink thread: collected with that thread on, the collector and the thread
  both close one SharedMemory (EBADF; the unlink never reaches the resource tracker, which
  then warns of "leaked shared_memory objects" at exit)."""
  shm_array = grain.multiprocessing.SharedMemoryArray
  shm_array.enable_async_del(1)  # as a loader with worker processes does
  pool = shm_array._del_thread_pool
  handed_to_thread = []
  monkeypatch.setattr(shm_array, "close_shm_async", classmethod(
      lambda cls, shm, unlink: handed_to_thread.append(shm.name)))
  gc_was_on = gc.isenabled()
  gc.disable()  # the cycle must still be there when `close` runs
  try:
    batch = shm_array((4, 4), np.uint8)
    batch.unlink_on_del()  # as the main process does with a batch from a worker
    name = batch.shm.name
    cycle = [batch]
    cycle.append(cycle)
    del batch, cycle
    pipeline.close(iter([]))
  finally:
    if gc_was_on:
      gc.enable()
  assert handed_to_thread == []
  with pytest.raises(FileNotFoundError):
    shared_memory.SharedMemory(name)  # unlinked
  assert shm_array._del_thread_pool is pool


def first_batch(loader):
  iterator = iter(loader)
  try:
    return next(iterator)
  finally:
    pipeline.close(iterator)


def test_keypoint_masking_changes_training_images_only_and_keeps_their_labels(cfg):
  """docs/method.md §4 through the real loaders: with data.mask.prob = 1 every training
  example gets its patches, its targets and weights stay those of the unmasked example (the
  same augmentation), and evaluation is never masked."""
  masked_cfg = cfg.copy_and_resolve_references()
  with masked_cfg.unlocked():
    masked_cfg.data.mask.prob = 1.0
    masked_cfg.data.mask.max_keypoints = 2
    masked_cfg.data.mask.size = 0.15
  plain, masked = (first_batch(pipeline.train_loader(c)) for c in (cfg, masked_cfg))
  np.testing.assert_array_equal(masked["weights"], plain["weights"])
  for r in plain["targets"]:
    np.testing.assert_array_equal(masked["targets"][r], plain["targets"][r])
  changed = (masked["image"] != plain["image"]).any(axis=-1)   # (B, n, n)
  n = cfg.input_size
  assert changed.reshape(len(changed), -1).any(axis=1).sum() >= len(changed) - 1
  # At most two patches of side round(0.15 n) per example, nothing else touched.
  assert changed.reshape(len(changed), -1).sum(axis=1).max() <= 2 * round(0.15 * n) ** 2
  plain_eval, masked_eval = (first_batch(pipeline.eval_loader(c)) for c in (cfg, masked_cfg))
  np.testing.assert_array_equal(masked_eval["image"], plain_eval["image"])
