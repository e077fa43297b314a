"""Every reliance of msposejax on what its libraries do not promise, in one place (a low layer:
it imports no msposejax unit; IO).

Each function or class below says what it relies on, why we need it, and the versions whose
source was read to check it: grain 0.2.18, orbax-checkpoint 0.12.8, tensorflow-datasets
4.9.10, CPython 3.11 on Linux (glibc). `tests/test_library_internals.py` checks each reliance
against the installed versions and names the library and its version when one no longer
holds; the upper bounds in `pyproject.toml` point here. Before raising a bound, run those
tests with the new version.

grain and orbax are imported inside the functions: prediction and export never load grain
(`tests/test_layers.py`), and this module is cheap to import in a worker process.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import threading
from typing import Any, Iterator

# --- grain: the DataLoader's iterator and its shared memory -------------------------------


def close_loader_iterator(iterator: Any) -> None:
  """Closes a grain DataLoader iterator: stops its worker processes and prefetch threads.

  Relies on (grain 0.2.18): `DataLoaderIterator` has no `close` of its own, but holds the
  dataset iterator it reads in the private `_iterator`, a `DatasetIterator` whose `close()`
  stops the workers and the prefetch. Needed because a batch fetched ahead is freed only
  when its iterator is closed (else the resource tracker reports leaked shared memory at
  exit). An iterator with a `close` of its own (a newer grain, a dataset iterator) is closed
  directly; one with neither is left alone.

  Raises:
    Whatever the iterator's `close` raises.
  """
  target = iterator if hasattr(iterator, "close") else getattr(iterator, "_iterator", None)
  if hasattr(target, "close"):
    target.close()


@contextlib.contextmanager
def shared_memory_freed_here() -> Iterator[Any]:
  """Within the block, a grain `SharedMemoryArray` that is deleted frees (closes and unlinks)
  its memory in the deleting thread, not in grain's unlink thread. Yields that thread's pool
  (None when no worker process has started in this process: no shared memory to free).

  Relies on (grain 0.2.18): the class attribute `SharedMemoryArray._del_thread_pool`, a
  `multiprocessing.pool.ThreadPool` set by `enable_async_del` (when a loader with workers
  starts) and read by `SharedMemoryArray.__del__` at each deletion: None means "free it
  now, here". Needed by `data.pipeline.close`: a garbage collection with the thread on hands
  an array's SharedMemory to that thread while the collector closes the same object (a
  double close: EBADF, the unlink never reaches the resource tracker, which warns of a leak
  at exit in 7 of 21 runs).
  """
  from grain.multiprocessing import SharedMemoryArray  # pylint: disable=import-outside-toplevel
  pool = getattr(SharedMemoryArray, "_del_thread_pool", None)
  if pool is None:
    yield None
    return
  SharedMemoryArray._del_thread_pool = None  # pylint: disable=protected-access
  try:
    yield pool
  finally:
    SharedMemoryArray._del_thread_pool = pool  # pylint: disable=protected-access


def wait_for_unlinks(pool: Any) -> None:
  """Returns once grain's unlink thread (`pool`, from `shared_memory_freed_here`) has done
  the unlinks handed to it before this call; nothing to wait for when `pool` is None.

  Relies on (grain 0.2.18): the pool has one thread (`enable_async_del(1)`), which works in
  order, so a no-op task returns after every earlier one. A pool already shut down (at
  interpreter exit) raises ValueError: nothing is left to wait for.
  """
  if pool is None:
    return
  try:
    pool.apply(int)
  except ValueError:
    pass


class StartAt:
  """A grain sampler that begins `start` records into another (the stream a later training
  stage continues). Indices are global (over all processes), as grain's samplers count them.

  Relies on (grain 0.2.18): `DataLoader` takes any object with `__len__` and `__getitem__`
  (index → `RecordMetadata`) as its sampler (`grain.python.Sampler` is a Protocol), and
  validates a restored iterator state by comparing the saved `repr(sampler)` with the
  loader's (`DataLoader._validate_state`). So the repr names `start` and the inner sampler:
  a resumed run restores only into a loader with the same start, and a state saved with
  another start (or seed) is refused with a ValueError rather than silently replaying other
  examples.
  """

  def __init__(self, sampler: Any, start: int):
    self._sampler = sampler
    self._start = int(start)

  def __len__(self) -> int:
    return len(self._sampler) - self._start

  def __getitem__(self, index: int) -> Any:
    return self._sampler[index + self._start]

  def __repr__(self) -> str:
    return f"StartAt(start={self._start}, {self._sampler!r})"


class WorkerStartHook:
  """Base of a grain transform whose `worker_start()` runs in each grain worker process as
  the worker starts, before its first example (grain's DataLoader offers no worker init hook).

  Relies on (grain 0.2.18, `dataset/transformations/process_prefetch.py`): with
  `worker_count` > 0 the DataLoader starts its workers with multiprocessing's "spawn"
  context and sends them its operations cloudpickled, so each worker unpickles its copy of
  the transform (calling `__setstate__`) as it starts; `multiprocessing.parent_process()` in
  a worker is the loader's process. `worker_start` also runs wherever else the transform is
  unpickled (a test, the main process): it must be cheap and safe to call anywhere.
  """

  def worker_start(self) -> None:
    """Runs when this transform is unpickled (in a grain worker: as the worker starts)."""

  def __setstate__(self, state: dict) -> None:
    self.__dict__.update(state)
    self.worker_start()


# --- the C library: signals from any thread ------------------------------------------------


def ignore_sigint() -> None:
  """Makes this process ignore SIGINT, from any thread (grain runs transforms in threads).

  Relies on (CPython 3.11, glibc on Linux): `signal.signal` works only in the main thread,
  but the C library's `signal(2)` sets the process-wide disposition from any thread; SIG_IGN
  is 1 in both Python's `signal` module and C. Replacing CPython's C-level SIGINT handler
  this way means the interpreter never sees the signal (no KeyboardInterrupt). Needed by
  `data.worker_guard`: a terminal's Ctrl-C reaches the whole process group, and a worker that
  dies of it takes the trainer down before it can save.
  """
  if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return
  libc = ctypes.CDLL(None, use_errno=True)
  libc.signal.restype = ctypes.c_void_p
  libc.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
  libc.signal(int(signal.SIGINT), ctypes.c_void_p(int(signal.SIG_IGN)))


# --- tensorflow-datasets: error text -------------------------------------------------------

_EMPTY_SPLIT_TEXT = "No examples were yielded"


def is_empty_split_error(error: BaseException) -> bool:
  """Whether `error` is TFDS refusing to write a split none of whose examples was yielded.

  Relies on (tensorflow-datasets 4.9.10, `core/writer.py`, `core/utils/shard_utils.py`): that
  refusal is an AssertionError whose text holds "No examples were yielded" (TFDS has no
  exception type of its own for it). Needed by `data.pipeline.prepare`, which turns it into
  one line saying that every image was missing, corrupt or unlabelled.
  """
  return isinstance(error, AssertionError) and _EMPTY_SPLIT_TEXT in str(error)


# How the notes TFDS logs at WARNING whenever it makes a builder begin (tensorflow-datasets
# 4.9.10, `core/dataset_builder.py`, `core/utils/file_utils.py`): "Using custom data
# configuration: …" for a configuration named at run time (`synthetic_people/train=N,…`,
# `coco/…`), "Variant folder … has no dataset_info.json" before a dataset is first prepared.
# Nothing in them to act on: the log file keeps them (training/log_file.py), the console
# (console.py) and grain workers (data/__init__.py) drop them.
TFDS_BUILDER_NOTES = ("Using custom data configuration", "Variant folder ")


# --- orbax: checkpoint layout, metadata and console text ------------------------------------
# Used by state/damage.py (empty files, missing index files, paths named in error text),
# state/checkpointing.py (saved_tree), state/full_disk.py (tensorstore's write failure) and
# console.py (the read-only notes, "Event loop is closed", orbax coroutines).

# What orbax's StandardSave/PyTreeSave writes at the top of an item's folder (OCDBT, the
# default): without them orbax reads an empty tree instead of failing.
STATE_INDEX_FILES = ("_METADATA", "manifest.ocdbt")

# The only files orbax may leave empty in an intact step: any other empty file means damage.
# orbax-checkpoint 0.12.8 writes no empty file (its commit_success.txt markers, in the step's
# and each item's folder, hold a line of text); the damage forensics has always let it be empty.
EMPTY_FILES_OF_AN_INTACT_STEP = ("commit_success.txt",)


def iterator_state_file(process_index: int, process_count: int) -> str:
  """The file in a checkpoint's data item that holds one process's grain iterator state.

  Relies on (grain 0.2.18, `checkpoint/handler.py`): `PyGrainCheckpointSave` writes
  `process_{i}-of-{n}.json`; a missing one fails the restore with that path in its text.
  """
  return f"process_{process_index}-of-{process_count}.json"


def paths_named_in(error: BaseException, folder: str | os.PathLike) -> list[str]:
  """The paths under `folder` that `error`, or an error it was raised from, names.

  Relies on (orbax-checkpoint 0.12.8 with grain 0.2.18): a restore that fails on a file says
  which only in its text, by the file's path, never in an exception type or attribute (a
  missing grain iterator file: "File …/data/process_0-of-1.json does not exist", tested;
  tensorstore's errors name the item's folder, as state/damage.py matches: not tested here).
  The damage forensics names the bad file of a step from these.
  """
  pattern = re.escape(str(folder)) + r"/[^\s'\",:]+"
  named, seen = [], set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    named += [path.rstrip(".") for path in re.findall(pattern, str(error))]
    error = error.__cause__ or error.__context__
  return named


def tensorstore_write_failure(text: str) -> str | None:
  """'"PATH": … No space left on device' out of tensorstore's text for a write the disk
  refused (`Failed writing: "PATH": WHY [spec …]`), or None where the text has no such part.

  Relies on (tensorstore as orbax-checkpoint 0.12.8 uses it): a full disk during an
  asynchronous save surfaces as a ValueError/RuntimeError whose text is the only place that
  says which file and why (no errno). Tested by the disk-full training on a tmpfs
  (tests/training/test_disk_full_save.py).
  """
  found = re.search(r'Failed writing: ("[^"]*": [^\[]*?No space left on device)', text)
  return found.group(1) if found else None


def saved_tree(metadata: Any) -> Any:
  """The tree of `StandardCheckpointHandler().metadata(path)`: orbax 0.12.8 returns a
  TreeMetadata whose `.tree` is the nested dict of array metadata (anything without `.tree`
  is taken to be that dict itself)."""
  return getattr(metadata, "tree", metadata)


# Lines orbax logs at WARNING that say nothing a user can act on: every read-only manager
# (eval, predict, export) logs them (orbax-checkpoint 0.12.8, `checkpoint_manager.py`).
READ_ONLY_NOTES = ("CheckpointManagerOptions.read_only=True", "Given directory is read only")


def is_closed_loop_error(error: BaseException) -> bool:
  """Whether `error` is asyncio's "Event loop is closed" (CPython 3.11's text): raised in
  tensorstore's threads when orbax abandons a restore of a damaged checkpoint."""
  return type(error) is RuntimeError and str(error) == "Event loop is closed"


def is_orbax_coroutine(obj: Any) -> bool:
  """Whether `obj` is a coroutine of orbax's code (an abandoned read, reported unawaited
  at exit): its code lives in the installed `orbax` package folder."""
  code = getattr(obj, "cr_code", None)
  return code is not None and f"{os.sep}orbax{os.sep}" in code.co_filename
