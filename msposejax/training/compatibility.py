"""Resume policy: whether a run with the run's settings would continue a checkpoint (pure: two
configs in, a ValueError naming every difference out). Whether it is of the run's model:
`config_checks.check_same_model`."""

from __future__ import annotations

import ml_collections

from msposejax.config_checks import get_field


# Settings a resumed run must share with its checkpoint: they fix the optimizer state's shape
# or the data order, so a change would not continue the run (or fail deep inside orbax).
_RESUME_FIELDS = ("seed", "batch_size", "optimizer.name", "data.dataset", "data.train_split",
                  "data.stream_start")


def check_resumable(saved: ml_collections.ConfigDict, config: ml_collections.ConfigDict,
                    where: str) -> None:
  """Raises ValueError naming each training setting that differs from the checkpoint's."""
  pairs = {f: (get_field(saved, f), get_field(config, f))
           for f in (*_RESUME_FIELDS, "optimizer.grad_clip")}
  diffs = [f"{f}: checkpoint {a!r} vs config {b!r}" for f, (a, b) in pairs.items()
           if f in _RESUME_FIELDS and a is not None and a != b]
  a, b = pairs["optimizer.grad_clip"]
  if bool(a) != bool(b):
    diffs.append(f"optimizer.grad_clip: checkpoint {a!r} vs config {b!r} (clipping on/off)")
  if diffs:
    raise ValueError(f"{where} holds a run with other training settings ({'; '.join(diffs)}); "
                     "resuming would not continue it: use a new workdir, or config.init_from "
                     "to start from it")
