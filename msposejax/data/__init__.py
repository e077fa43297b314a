"""Input side: datasets (TFDS), crop geometry, augmentation, keypoint masking, grain pipeline."""

import logging as _logging
import multiprocessing as _multiprocessing

from msposejax import library_internals as _library_internals

# TFDS's notes on each builder it makes for a named configuration ("Using custom data
# configuration: SyntheticPeopleConfig(...)"; `training/log_file.py` keeps them in the
# trainer's log file) are printed by every grain worker, which has no log file: a spawned
# worker imports this package first when it unpickles its data source, before TFDS makes the
# builder, so its absl logger drops them here.


def _not_a_worker_note(record: _logging.LogRecord) -> bool:
  return (record.levelno >= _logging.ERROR
          or not record.getMessage().startswith(_library_internals.TFDS_BUILDER_NOTES))


if _multiprocessing.parent_process() is not None:  # a worker process (grain's are spawned)
  _logging.getLogger("absl").addFilter(_not_a_worker_note)
