"""grain input pipelines over TFDS ArrayRecord sources (IO: reads the prepared dataset).

train: source → per-process shard → shuffle (endless epochs) → TrainTransform → batch →
multiprocess prefetch. eval: one pass in order → EvalTransform → batch (last batch padded
with `valid=False` examples by the caller). The train iterator's state is checkpointable.
"""

from __future__ import annotations

import gc
import logging
import os

import grain.multiprocessing as grain_multiprocessing
import grain.python as grain
import jax
import ml_collections
import numpy as np
import tensorflow_datasets as tfds

from msposejax.data.transforms import EvalTransform, TrainTransform

_log = logging.getLogger(__name__)


def data_dir(config: ml_collections.ConfigDict) -> str:
  return os.path.expanduser(config.data.tfds_data_dir) or tfds.core.constants.DATA_DIR


def builder(config: ml_collections.ConfigDict) -> tfds.core.DatasetBuilder:
  """The TFDS builder named by `config.data.dataset` ("name/config")."""
  name, _, builder_config = config.data.dataset.partition("/")
  if name == "synthetic_people":
    from msposejax.data import synthetic_people
    return synthetic_people.SyntheticPeople(config=synthetic_people.builder_config(builder_config),
                                            data_dir=data_dir(config), file_format="array_record")
  if name == "mpii_human_pose":
    from msposejax.data.mpii import MpiiHumanPose
    return MpiiHumanPose(config=builder_config or None, data_dir=data_dir(config),
                         file_format="array_record")
  if name == "lsp":
    from msposejax.data.lsp import Lsp
    if builder_config not in ("original", "extended"):
      raise ValueError(f"config.data.dataset={config.data.dataset!r}: expected lsp/original "
                       "(LSP) or lsp/extended (LSP-extended)")
    return Lsp(config=builder_config, data_dir=data_dir(config), file_format="array_record")
  if name == "coco":
    from msposejax.data import coco
    try:
      coco_config = coco.builder_config(builder_config)
    except ValueError as e:
      raise ValueError(f"config.data.dataset={config.data.dataset!r}: {e}") from None
    # A preset is named (TFDS refuses a config object named like a registered one).
    return coco.CocoKeypoints(config=builder_config if builder_config in coco.PRESETS
                              else coco_config, data_dir=data_dir(config),
                              file_format="array_record")
  raise ValueError(f"config.data.dataset={config.data.dataset!r}: unknown dataset (expected "
                   "synthetic_people[/CONFIG], mpii_human_pose[/CONFIG], lsp/{original,extended} "
                   "or coco/{2017,crowdpose,ochuman,OPTIONS})")


def prepare(config: ml_collections.ConfigDict) -> None:
  """Builds the dataset if needed (MPII needs its manual files in `config.data.manual_dir`)."""
  b = builder(config)
  if b.is_prepared():
    return
  kwargs = {}
  if config.data.manual_dir:
    kwargs["download_config"] = tfds.download.DownloadConfig(
        manual_dir=os.path.expanduser(config.data.manual_dir))
  _log.info("preparing %s in %s", config.data.dataset, b.data_dir)
  print(f"preparing {config.data.dataset} in {b.data_dir} (once; later runs reuse it)", flush=True)
  b.download_and_prepare(**kwargs)


def open_source(config: ml_collections.ConfigDict, split: str, auto_prepare: bool = True):
  """Random-access source of one split; synthetic data is generated on first use, and so is
  a real dataset whose files are in `config.data.manual_dir`."""
  b = builder(config)
  if not b.is_prepared():
    if auto_prepare and (config.data.dataset.startswith("synthetic_people")
                         or config.data.manual_dir):
      prepare(config)
      b = builder(config)  # a builder made before preparation does not see the new splits
    else:
      raise FileNotFoundError(
          f"dataset {config.data.dataset} is not prepared in {data_dir(config)}; run "
          f"`msposejax data prepare --config CONFIG` (MPII: put the files described in "
          f"docs/data.md in config.data.manual_dir first)")
  if split not in b.info.splits:
    raise ValueError(f"split {split!r} not in {config.data.dataset} "
                     f"(has {sorted(b.info.splits)})")
  return b.as_data_source(split=split)


def stream_seed(seed: int) -> int:
  """The 32-bit seed of the training stream for `config.seed`.

  grain gives example i the generator Philox(seed + i), so the raw seeds s and s + 1 would
  draw the same augmentations shifted by one example; hashing the seed first makes the
  streams of different seeds unrelated.
  """
  return int(np.random.SeedSequence(int(seed)).generate_state(1, np.uint32)[0])


class _StartAt:
  """A sampler that begins `start` records into another (the stream a later stage continues).

  Indices are global (over all processes), as grain's samplers count them.
  """

  def __init__(self, sampler: grain.IndexSampler, start: int):
    self._sampler = sampler
    self._start = int(start)

  def __len__(self) -> int:
    return len(self._sampler) - self._start

  def __getitem__(self, index: int):
    return self._sampler[index + self._start]

  def __repr__(self) -> str:  # grain checks it on restore: a resumed run keeps its start
    return f"StartAt(start={self._start}, {self._sampler!r})"


def train_loader(config: ml_collections.ConfigDict, source=None,
                 start: int = 0) -> grain.DataLoader:
  """Endless, shuffled, augmented batches of config.batch_size / process_count per process.

  Args:
    config: the run's config (seed, batch size, transforms).
    source: the train split (default: opened from the config).
    start: examples of the seed's stream to skip (global count). A stage started with
      `init_from` passes the examples its ancestors drew, so it continues the stream on new
      examples and new augmentations instead of replaying the first ones.
  """
  source = source if source is not None else open_source(config, config.data.train_split)
  per_process = config.batch_size // jax.process_count()
  shard = grain.ShardOptions(shard_index=jax.process_index(), shard_count=jax.process_count(),
                             drop_remainder=True)
  sampler = grain.IndexSampler(num_records=len(source), shard_options=shard, shuffle=True,
                               num_epochs=None, seed=stream_seed(config.seed))
  if start:
    sampler = _StartAt(sampler, start)
  return grain.DataLoader(data_source=source, sampler=sampler, shard_options=shard,
                          operations=[TrainTransform(config),
                                      grain.Batch(per_process, drop_remainder=True)],
                          worker_count=config.data.worker_count)


def eval_loader(config: ml_collections.ConfigDict, split: str | None = None, source=None,
                num_examples: int | None = None) -> grain.DataLoader:
  """One ordered pass over (this process's share of) the eval split."""
  source = source if source is not None else open_source(config, split or config.data.eval_split)
  num = min(len(source), num_examples) if num_examples else len(source)
  shard = grain.ShardOptions(shard_index=jax.process_index(), shard_count=jax.process_count(),
                             drop_remainder=False)
  sampler = grain.IndexSampler(num_records=num, shard_options=shard, shuffle=False,
                               num_epochs=1, seed=config.seed)
  return grain.DataLoader(data_source=source, sampler=sampler,
                          operations=[EvalTransform(config),
                                      grain.Batch(config.eval_batch_size, drop_remainder=False)],
                          worker_count=config.data.worker_count)


def close(iterator) -> None:
  """Stops a loader iterator's worker processes and frees the shared memory of its batches.

  With `config.data.worker_count` > 0, grain's workers hand batches over in shared memory:
  a batch fetched ahead is freed only when its iterator is closed, and a freed batch's
  memory is unlinked later, by a background thread. Both may come too late at interpreter
  exit, and the resource tracker then reports "leaked shared_memory objects". So: close now
  (grain 0.2's DataLoaderIterator has no close of its own; the dataset iterator inside it
  has), collect what the closing freed, and wait for that thread to unlink it. Call it when
  the iterator is done with and the batches the caller kept are dropped; safe to call twice;
  never raises (a failure is logged).
  """
  shm_array = grain_multiprocessing.SharedMemoryArray
  gc_was_on = gc.isenabled()
  gc.disable()  # what the closing frees is collected below, not by chance in between
  try:
    target = iterator if hasattr(iterator, "close") else getattr(iterator, "_iterator", None)
    try:
      if hasattr(target, "close"):
        target.close()
    except Exception:  # pylint: disable=broad-except
      # Called from `finally` blocks: never hide the run's own error behind the loader's.
      _log.warning("closing the data iterator failed", exc_info=True)
    unlinker = getattr(shm_array, "_del_thread_pool", None)
    if unlinker is None:  # no worker process has started: no shared memory
      return
    # The loader's end leaves its last batch in cyclic garbage (the StopIteration's traceback
    # holds the prefetch thread's frame). Collected with the unlinker on, an array's
    # finaliser hands its SharedMemory to that thread while the collector closes the same
    # object here: a double close (EBADF; the unlink never reaches the resource tracker,
    # which warns of a leak at exit: 7 of 21 runs). Collect with synchronous deletion.
    shm_array._del_thread_pool = None
    try:
      gc.collect()
    finally:
      shm_array._del_thread_pool = unlinker
  finally:
    if gc_was_on:
      gc.enable()
  try:
    unlinker.apply(int)  # its one thread works in order: the earlier unlinks are done
  except ValueError:  # the pool has shut down: nothing left to wait for
    pass
