"""grain input pipelines over TFDS ArrayRecord sources (IO: reads the prepared dataset).

train: source → per-process shard → shuffle (endless epochs) → TrainTransform → batch →
multiprocess prefetch. eval: one pass in order → EvalTransform → batch (last batch padded
with `valid=False` examples by the caller). The train iterator's state is checkpointable.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import logging
import os
import sys

import grain.python as grain
import jax
import ml_collections
import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from msposejax import library_internals
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


SOURCE_FILE = "msposejax_source.json"  # beside the prepared files: what they were made from
_said: set[str] = set()  # prepared copies whose changed manual_dir was already said


def _num_examples(b: tfds.core.DatasetBuilder) -> int:
  return sum(split.num_examples for split in b.info.splits.values())


def _manual_dir(config: ml_collections.ConfigDict) -> str:
  return os.path.abspath(os.path.expanduser(config.data.manual_dir)) \
      if config.data.manual_dir else ""


def _count_files(folder: str) -> int:
  """Files under `folder` (all depths): a cheap fingerprint of what a manual_dir holds."""
  return sum(len(files) for _, _, files in os.walk(folder))


def _source(config: ml_collections.ConfigDict) -> dict:
  manual = _manual_dir(config)
  return {"manual_dir": manual, "files": _count_files(manual) if manual else 0}


def _say_if_source_changed(config: ml_collections.ConfigDict,
                           b: tfds.core.DatasetBuilder) -> None:
  """Says once (per prepared copy) when config.data.manual_dir is not the folder, or not the
  number of files, the prepared copy was made from: the copy is used as it is, so a user
  who pointed manual_dir at the full dataset learns that it still holds the old one."""
  stamp = epath.Path(b.data_dir) / SOURCE_FILE
  if not config.data.manual_dir or str(b.data_dir) in _said or not stamp.exists():
    return  # nothing to compare (no manual_dir given, or a copy older than the stamp)
  then, now = json.loads(stamp.read_text()), _source(config)
  if then == now:
    return
  _said.add(str(b.data_dir))
  print(f"warning: {config.data.dataset} in {b.data_dir} was prepared from "
        f"{then['manual_dir']} ({then['files']} files), but config.data.manual_dir is "
        f"{now['manual_dir']} ({now['files']} files); using the prepared copy as it is "
        f"({_num_examples(b)} examples). To prepare it from the new files, delete "
        f"{b.data_dir} and run `msposejax data prepare`.", file=sys.stderr, flush=True)


def prepare(config: ml_collections.ConfigDict) -> tuple[epath.Path, dict[str, int]]:
  """Builds the dataset if needed (MPII needs its manual files in `config.data.manual_dir`).

  Returns:
    (the prepared dataset's folder, {split: number of examples}).

  Raises:
    FileNotFoundError: the manual files are absent or named otherwise than expected.
    ValueError: the dataset would have no examples (nothing is kept).
  """
  b = builder(config)
  if b.is_prepared() and _num_examples(b) == 0:  # left by an older msposejax: never reuse it
    print(f"{config.data.dataset} in {b.data_dir} holds no examples: preparing it again",
          flush=True)
    epath.Path(b.data_dir).rmtree()
    b = builder(config)
  if b.is_prepared():
    _say_if_source_changed(config, b)
    return _prepared(b)
  kwargs = {}
  if config.data.manual_dir:
    kwargs["download_config"] = tfds.download.DownloadConfig(manual_dir=_manual_dir(config))
  _log.info("preparing %s in %s", config.data.dataset, b.data_dir)
  print(f"preparing {config.data.dataset} in {b.data_dir} (once; later runs reuse it)", flush=True)
  source = _source(config)
  where = f"{config.data.dataset} from {source['manual_dir'] or 'its generator'}"
  try:
    with _tfds_chatter_to_log():
      b.download_and_prepare(**kwargs)
  except AssertionError as e:  # TFDS refuses a split whose examples were all skipped
    if not library_internals.is_empty_split_error(e):
      raise
    raise ValueError(f"{where}: {' '.join(str(e).split())} (its images are all missing, "
                     "corrupt or unlabelled: the log above counts them); nothing was "
                     f"prepared in {data_dir(config)}") from None
  b = builder(config)  # a builder made before preparation does not see the new splits
  if _num_examples(b) == 0:
    epath.Path(b.data_dir).rmtree()
    raise ValueError(f"{where} gave no examples (every image missing, corrupt or unlabelled: "
                     f"the log above counts them); nothing was prepared in {data_dir(config)}")
  (epath.Path(b.data_dir) / SOURCE_FILE).write_text(json.dumps(source))
  return _prepared(b)


def _prepared(b: tfds.core.DatasetBuilder) -> tuple[epath.Path, dict[str, int]]:
  return epath.Path(b.data_dir), {name: s.num_examples for name, s in b.info.splits.items()}


@contextlib.contextmanager
def _tfds_chatter_to_log():
  """TFDS prints two bold lines of its own around a preparation ("Downloading and preparing
  dataset Unknown size …", "… Subsequent calls will reuse this data.", said by ours above) and
  draws progress bars: the lines go to the log, the bars only to a terminal (in a pipe or a
  log file they are lines of carriage returns and cursor moves)."""
  printed = io.StringIO()
  tfds.display_progress_bar(sys.stderr.isatty())
  try:
    with contextlib.redirect_stdout(printed):
      yield
  finally:
    tfds.display_progress_bar(True)  # TFDS's default
    for line in printed.getvalue().splitlines():
      _log.info("tensorflow_datasets: %s", line)


def open_source(config: ml_collections.ConfigDict, split: str, auto_prepare: bool = True):
  """Random-access source of one split; synthetic data is generated on first use, and so is
  a real dataset whose files are in `config.data.manual_dir`."""
  b = builder(config)
  if not b.is_prepared() or _num_examples(b) == 0:
    if auto_prepare and (config.data.dataset.startswith("synthetic_people")
                         or config.data.manual_dir):
      prepare(config)
      b = builder(config)  # a builder made before preparation does not see the new splits
    else:
      raise FileNotFoundError(
          f"dataset {config.data.dataset} is not prepared in {data_dir(config)}; run "
          f"`msposejax data prepare --config CONFIG` (MPII: put the files described in "
          f"docs/data.md in config.data.manual_dir first)")
  _say_if_source_changed(config, b)
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
    sampler = library_internals.StartAt(sampler, start)  # its repr guards a restore
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
  exit, and the resource tracker then reports "leaked shared_memory objects". So: close now,
  collect what the closing freed, and wait for that thread to unlink it (the grain internals
  this takes: `library_internals`). Call it when the iterator is done with and the batches
  the caller kept are dropped; safe to call twice; never raises (a failure is logged).
  """
  gc_was_on, unlinker = gc.isenabled(), None
  gc.disable()  # what the closing frees is collected below, not by chance in between
  try:
    try:
      library_internals.close_loader_iterator(iterator)
    except Exception:  # pylint: disable=broad-except
      # Called from `finally` blocks: never hide the run's own error behind the loader's.
      _log.warning("closing the data iterator failed", exc_info=True)
    # The loader's end leaves its last batch in cyclic garbage (the StopIteration's traceback
    # holds the prefetch thread's frame): collect it with the unlinks done here, not in
    # grain's unlink thread, which would close the same SharedMemory a second time.
    with library_internals.shared_memory_freed_here() as unlinker:
      if unlinker is not None:  # else no worker process has started: no shared memory
        gc.collect()
  finally:
    if gc_was_on:
      gc.enable()
  library_internals.wait_for_unlinks(unlinker)  # the earlier unlinks are done
