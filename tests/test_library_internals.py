"""What msposejax relies on of grain, orbax, TFDS, CPython and libc beyond their promises
(`msposejax/library_internals.py`) still holds for the installed versions.

Each test fails naming the library, its installed version and the reliance, so a version
bump that changes one says so here instead of as a leak, a hang or a traceback in training.
Run these before raising an upper bound in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import time
from multiprocessing import pool as mp_pool
from multiprocessing import shared_memory

import grain
import grain.python as grain_python
import numpy as np
import pytest

from msposejax import library_internals as li
from tests.conftest import REPO, alive

pytestmark = pytest.mark.xdist_group("library_internals")

ADAPTER = "msposejax/library_internals.py"
GRAIN = f"grain {importlib.metadata.version('grain')}"
ORBAX = f"orbax-checkpoint {importlib.metadata.version('orbax-checkpoint')}"
TFDS = f"tensorflow-datasets {importlib.metadata.version('tensorflow-datasets')}"
PYTHON = f"CPython {platform.python_version()} ({' '.join(platform.libc_ver())})"


def _says(library: str, what: str, why: str) -> str:
  return f"{library} {what} ({ADAPTER} relies on it for {why})"


def _loader(sampler, transform=None, worker_count=0, source=None) -> grain_python.DataLoader:
  return grain_python.DataLoader(
      data_source=source if source is not None else list(range(20)), sampler=sampler,
      operations=[transform] if transform else [], worker_count=worker_count,
      shard_options=grain_python.ShardOptions(shard_index=0, shard_count=1))


def _sampler(num_epochs=None, shuffle=True) -> grain_python.IndexSampler:
  return grain_python.IndexSampler(
      num_records=20, shard_options=grain_python.ShardOptions(shard_index=0, shard_count=1),
      shuffle=shuffle, num_epochs=num_epochs, seed=7)


# --- grain ----------------------------------------------------------------------------------


def test_grain_frees_shared_memory_in_the_deleting_thread_while_its_unlink_pool_is_off(
    monkeypatch):
  shm_array = grain.multiprocessing.SharedMemoryArray
  why = "shared_memory_freed_here (data.pipeline.close frees a loader's last batches)"
  assert "_del_thread_pool" in vars(shm_array), _says(
      GRAIN, "no longer has SharedMemoryArray._del_thread_pool", why)
  shm_array.enable_async_del(1)  # as a loader with worker processes does
  pool = shm_array._del_thread_pool
  assert isinstance(pool, mp_pool.ThreadPool), _says(
      GRAIN, f"sets SharedMemoryArray._del_thread_pool to {type(pool).__name__}, not a "
      "ThreadPool, in enable_async_del", why)
  handed = []
  monkeypatch.setattr(shm_array, "close_shm_async", classmethod(
      lambda cls, shm, unlink: handed.append(shm.name)))
  with li.shared_memory_freed_here() as unlinker:
    assert unlinker is pool
    array = shm_array((4,), np.uint8)
    array.unlink_on_del()
    name = array.shm.name
    del array
  assert shm_array._del_thread_pool is pool, "the unlink pool is put back after the block"
  assert handed == [], _says(GRAIN, "hands an array to its unlink thread although "
                             "SharedMemoryArray._del_thread_pool is None", why)
  with pytest.raises(FileNotFoundError):
    shared_memory.SharedMemory(name)  # unlinked here, at once


def test_grain_unlinks_in_order_in_one_thread_so_a_no_op_task_waits_for_them():
  shm_array = grain.multiprocessing.SharedMemoryArray
  shm_array.enable_async_del(1)
  array = shm_array((4,), np.uint8)
  array.unlink_on_del()
  name = array.shm.name
  with li.shared_memory_freed_here() as pool:
    pass
  del array  # handed to grain's unlink thread
  li.wait_for_unlinks(pool)
  try:
    shared_memory.SharedMemory(name).close()
  except FileNotFoundError:
    return
  pytest.fail(_says(GRAIN, "had not unlinked an array when a task queued after it on "
                    "SharedMemoryArray._del_thread_pool returned", "wait_for_unlinks"))


def test_grain_loader_iterator_closes_through_its_dataset_iterator():
  iterator = iter(_loader(_sampler()))
  next(iterator)
  inner = iterator if hasattr(iterator, "close") else getattr(iterator, "_iterator", None)
  assert hasattr(inner, "close"), _says(
      GRAIN, "DataLoaderIterator has neither close() nor an _iterator with close()",
      "close_loader_iterator (stopping a loader's workers; else leaked shared memory)")
  li.close_loader_iterator(iterator)
  with pytest.raises(ValueError, match="closed"):
    next(iterator)


def test_grain_takes_our_sampler_and_restores_only_into_a_loader_whose_sampler_repr_matches():
  why = "StartAt (a stage continues the stream; a resume keeps its start)"
  plain = [next(it) for it in [iter(_loader(_sampler()))] for _ in range(6)]
  iterator = iter(_loader(li.StartAt(_sampler(), 3)))
  got = [next(iterator)]
  assert got == plain[3:4], _says(GRAIN, "does not read a duck-typed sampler (__len__, "
                                  "__getitem__) as its Sampler protocol says", why)
  state = iterator.get_state()
  expected = [next(iterator) for _ in range(2)]
  resumed = iter(_loader(li.StartAt(_sampler(), 3)))
  resumed.set_state(state)
  assert [next(resumed) for _ in range(2)] == expected == plain[4:6], _says(
      GRAIN, "no longer restores an iterator state into a loader with an equal sampler", why)
  other = iter(_loader(li.StartAt(_sampler(), 5)))
  try:
    other.set_state(state)
  except ValueError as e:
    assert "StartAt(start=3" in str(e), str(e)
  else:
    pytest.fail(_says(GRAIN, "restores a state saved with another sampler repr (start=3 into "
                      "start=5) without a word: DataLoader._validate_state no longer compares "
                      "repr(sampler)", why))


class _RecordsItsStart(li.WorkerStartHook, grain_python.MapTransform):
  """Each element: (pid where worker_start last ran, the pid mapping it, that pid's parent
  as multiprocessing knows it)."""

  def __init__(self):
    self.started_in = None

  def worker_start(self) -> None:
    self.started_in = os.getpid()

  def map(self, element):
    parent = multiprocessing.parent_process()
    return np.array([self.started_in or -1, os.getpid(), parent.pid if parent else -1])


@pytest.fixture
def absl_flags_parsed():
  """grain's multiprocessing reads its absl flags, parsed by our command line's absl app."""
  from absl import flags
  was = flags.FLAGS.is_parsed()
  if not was:
    flags.FLAGS.mark_as_parsed()
  yield
  if not was:
    flags.FLAGS.unparse_flags()


def test_grain_workers_unpickle_the_transforms_as_they_start_and_stop_when_closed(
    absl_flags_parsed):
  why = "WorkerStartHook (worker_guard: Ctrl-C and exit-with-parent in each worker)"
  iterator = iter(_loader(_sampler(num_epochs=1, shuffle=False), _RecordsItsStart(),
                          worker_count=1))
  try:
    started_in, mapped_in, parent = (int(v) for v in next(iterator))
    assert mapped_in != os.getpid(), "the element should come from a worker process"
    assert started_in == mapped_in, _says(
        GRAIN, "no longer unpickles the transforms in each worker before its first example "
        f"(worker_start ran in {started_in}, the element was made in {mapped_in})", why)
    assert parent == os.getpid(), _says(
        GRAIN, f"starts workers whose multiprocessing parent is {parent}, not the loader's "
        f"process {os.getpid()}", why)
  finally:
    li.close_loader_iterator(iterator)
  deadline = time.time() + 30
  while time.time() < deadline and alive(mapped_in):
    time.sleep(0.1)
  assert not alive(mapped_in), _says(
      GRAIN, "leaves a worker running after its DataLoaderIterator's dataset iterator is "
      "closed", "close_loader_iterator")


# --- CPython and the C library --------------------------------------------------------------


def test_libc_signal_from_a_thread_makes_the_process_ignore_ctrl_c():
  code = ("import os, signal, threading, time\n"
          "from msposejax import library_internals\n"
          "t = threading.Thread(target=library_internals.ignore_sigint); t.start(); t.join()\n"
          "os.kill(os.getpid(), signal.SIGINT); time.sleep(0.2)\n"
          "mask = [l for l in open('/proc/self/status') if l.startswith('SigIgn:')][0]\n"
          "print(int(mask.split()[1], 16) >> (signal.SIGINT - 1) & 1)\n")
  result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
  assert result.returncode == 0 and result.stdout.strip() == "1", _says(
      PYTHON, "did not ignore SIGINT after the C library's signal(SIGINT, SIG_IGN) from a "
      f"non-main thread (rc {result.returncode}: {result.stderr.strip()[-300:]})",
      "ignore_sigint (grain workers survive a terminal's Ctrl-C)")


def test_asyncio_says_its_loop_is_closed_in_the_words_we_match():
  loop = asyncio.new_event_loop()
  loop.close()
  with pytest.raises(RuntimeError) as e:
    loop.call_soon(print)
  assert li.is_closed_loop_error(e.value), _says(
      PYTHON, f"now says {str(e.value)!r} for a closed event loop",
      "is_closed_loop_error (main.py drops orbax's abandoned-restore tracebacks)")
  assert not li.is_closed_loop_error(RuntimeError("something else"))


# --- tensorflow-datasets --------------------------------------------------------------------


@pytest.fixture(scope="module")
def tfds_probe():
  """A TFDS builder of one split, "train", that yields no example."""
  import tensorflow_datasets as tfds

  class MsposejaxEmptyProbe(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
      return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
          {"x": tfds.features.Scalar(np.int32)}))

    def _split_generators(self, dl_manager):
      return {"train": self._generate_examples()}

    def _generate_examples(self):
      yield from ()

  return MsposejaxEmptyProbe


def test_tfds_refuses_a_split_without_examples_in_the_words_we_match(tmp_path, tfds_probe):
  builder = tfds_probe(data_dir=str(tmp_path), file_format="array_record")
  with pytest.raises(Exception) as e:
    builder.download_and_prepare()
  assert li.is_empty_split_error(e.value), _says(
      TFDS, f"now refuses a split without examples with {type(e.value).__name__}: "
      f"{str(e.value)[:200]!r}", "is_empty_split_error (pipeline.prepare's one-line error)")


def test_tfds_logs_the_builder_notes_we_keep_off_the_console(tmp_path, caplog, tfds_probe):
  import inspect
  import logging
  import tensorflow_datasets as tfds
  from tensorflow_datasets.core.utils import file_utils

  with caplog.at_level(logging.WARNING):  # a configuration named at run time
    tfds_probe(config=tfds.core.BuilderConfig(name="train20"), data_dir=str(tmp_path))
  notes = [r.getMessage() for r in caplog.records]
  assert any(n.startswith(li.TFDS_BUILDER_NOTES[0]) for n in notes), _says(
      TFDS, f"no longer logs {li.TFDS_BUILDER_NOTES[0]!r} for a custom configuration "
      f"(it logged {notes})", "TFDS_BUILDER_NOTES (the console and workers drop it)")
  assert f"'{li.TFDS_BUILDER_NOTES[1]}%s has no %s'" in inspect.getsource(file_utils), _says(
      TFDS, f"no longer logs {li.TFDS_BUILDER_NOTES[1]!r}... has no dataset_info.json",
      "TFDS_BUILDER_NOTES (the console and workers drop it)")


# --- orbax ----------------------------------------------------------------------------------
_STATE = {"params": {"w": np.ones(3, np.float32)}}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
  """A checkpoint folder with step 1: a small state and a grain iterator's position."""
  import orbax.checkpoint as ocp
  directory = tmp_path_factory.mktemp("library_internals") / "checkpoints"
  iterator = iter(_loader(_sampler()))
  next(iterator)
  with ocp.CheckpointManager(directory) as manager:
    manager.save(1, args=ocp.args.Composite(state=ocp.args.StandardSave(_STATE),
                                            data=grain_python.PyGrainCheckpointSave(iterator)))
    manager.wait_until_finished()
  return directory


def test_orbax_writes_the_files_the_damage_forensics_looks_for(checkpoints):
  step = checkpoints / "1"
  for name in li.STATE_INDEX_FILES:
    assert (step / "state" / name).is_file(), _says(
        ORBAX, f"no longer writes state/{name} (has {sorted(os.listdir(step / 'state'))})",
        "STATE_INDEX_FILES (the damage forensics names a missing one)")
  empty = sorted({name for folder, _, files in os.walk(step) for name in files
                  if os.path.getsize(os.path.join(folder, name)) == 0})
  assert set(empty) <= set(li.EMPTY_FILES_OF_AN_INTACT_STEP), _says(
      ORBAX, f"writes empty files {empty} in an intact step",
      "EMPTY_FILES_OF_AN_INTACT_STEP (the damage forensics would call this step damaged)")
  data_file = li.iterator_state_file(0, 1)
  assert (step / "data" / data_file).is_file(), _says(
      GRAIN, f"no longer saves an iterator as data/{data_file} "
      f"(has {sorted(os.listdir(step / 'data'))})", "iterator_state_file (damage forensics)")


def test_orbax_names_a_missing_file_of_a_step_in_its_error(checkpoints):
  import orbax.checkpoint as ocp
  step = checkpoints / "1"
  missing = step / "data" / li.iterator_state_file(0, 1)
  saved = missing.read_bytes()
  missing.unlink()
  try:
    with ocp.CheckpointManager(checkpoints) as manager, pytest.raises(Exception) as e:
      manager.restore(1, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(_STATE),
          data=grain_python.PyGrainCheckpointRestore(iter(_loader(_sampler())))))
  finally:
    missing.write_bytes(saved)
  assert str(missing) in li.paths_named_in(e.value, step), _says(
      f"{ORBAX} with {GRAIN}", f"no longer names a missing data/{missing.name} in the "
      f"error of a restore ({type(e.value).__name__}: {str(e.value)[:200]})",
      "paths_named_in (the damage forensics names the bad file of a step)")


def test_orbax_metadata_holds_the_saved_tree(checkpoints):
  import orbax.checkpoint as ocp
  tree = li.saved_tree(ocp.StandardCheckpointHandler().metadata(checkpoints / "1" / "state"))
  assert isinstance(tree, dict) and set(tree) == {"params"} and set(tree["params"]) == {"w"}, \
      _says(ORBAX, f"StandardCheckpointHandler().metadata gives {type(tree).__name__}, not the "
            "saved tree", "saved_tree (checkpointing: weights-only and same-arrays checks)")


def test_orbax_logs_the_read_only_notes_we_drop_and_runs_coroutines_from_its_folder(
    checkpoints, caplog):
  import orbax.checkpoint as ocp
  with caplog.at_level(logging.WARNING):
    ocp.CheckpointManager(checkpoints,
                          options=ocp.CheckpointManagerOptions(read_only=True, max_to_keep=2))
  for note in li.READ_ONLY_NOTES:
    assert any(r.getMessage().startswith(note) for r in caplog.records), _says(
        ORBAX, f"no longer logs {note!r} for a read-only manager (it logged "
        f"{[r.getMessage()[:60] for r in caplog.records]})", "READ_ONLY_NOTES (console)")
  coroutine = ocp.StandardCheckpointHandler().async_save(checkpoints / "unused",
                                                          args=ocp.args.StandardSave(_STATE))
  ours = _not_orbax()
  try:
    assert li.is_orbax_coroutine(coroutine), _says(
        ORBAX, f"coroutines' code is no longer in an orbax folder "
        f"({coroutine.cr_code.co_filename})", "is_orbax_coroutine (console)")
    assert not li.is_orbax_coroutine(ours)
  finally:
    coroutine.close()
    ours.close()


async def _not_orbax() -> None:
  pass
