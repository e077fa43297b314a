"""Where in its seed's training stream a run starts (`config.data.stream_start`, resolved): a
stage started from another run's checkpoint continues that run's stream (pure)."""

from __future__ import annotations

import ml_collections


def stream_start(config: ml_collections.ConfigDict,
                 source: tuple[ml_collections.ConfigDict, int] | None = None) -> int:
  """Examples of the training stream a run skips.

  Args:
    config: the run's config. data.stream_start >= 0 is taken as it is; -1 (the default)
      means: none for a run from scratch, and for a run with `init_from` all that its source
      drew, its own ancestors' included, so every stage of a staged recipe sees new examples
      with new augmentations, exactly those a single run of the same total length would have
      drawn next.
    source: for a run with `init_from`, (the source checkpoint's saved config, its step).

  Raises:
    ValueError: a run with `init_from` and stream_start -1 but no source given.
  """
  start = int(config.data.stream_start)
  if start >= 0:
    return start
  if not config.init_from:
    return 0
  if source is None:
    raise ValueError("stream_start of a run with init_from needs its source's config and step")
  src, step = source
  before = max(int(src.get("data", {}).get("stream_start", 0)), 0)  # older checkpoints: 0
  return before + step * int(src.batch_size)
