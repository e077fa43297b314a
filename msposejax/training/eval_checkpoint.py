"""`msposejax eval`: one checkpoint's PCKh, PCK or OKS AP on the eval split (IO: checkpoints,
data, the workdir's eval_stepN.json)."""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import ml_collections

from msposejax import skeleton
from msposejax.config_checks import check_same_model, validate_config
from msposejax.state import checkpointing
from msposejax.training import log_file
from msposejax.training.reports import say, table
from msposejax.training.trainer import Trainer


def evaluate_checkpoint(config: ml_collections.ConfigDict | None, workdir: str | os.PathLike,
                        step: int | None = None) -> dict[str, Any]:
  """Evaluates one step of a training workdir (default: the best, else the latest).

  Args:
    config: what to evaluate with (data, eval settings); None: the checkpoint's own saved
      config. A given config must describe the checkpoint's model.
    workdir: a training workdir or one step's directory (WORKDIR/checkpoints/STEP).
    step: the step; None: the best (else latest), or the step directory's.

  Returns:
    The report (as final_metrics.json holds it) with "step"; also written to
    WORKDIR/eval_stepN.json.
  """
  workdir, found = checkpointing.resolve(workdir)
  step = found if step is None else step
  if config is not None:
    validate_config(config)  # a bad config: at once, before the checkpoint is read
  with log_file.to_file(workdir):
    with checkpointing.Checkpointer(workdir, read_only=True) as ckpt:
      saved = ckpt.saved_config(step)
      if config is None:
        config = _as_eval_config(saved)
        validate_config(config)  # e.g. the config of a checkpoint this version cannot read
      else:
        check_same_model(saved, config, str(workdir))
      trainer = Trainer(config, workdir)
      variables = ckpt.restore_variables(step, trainer.abstract_variables())
    skel = skeleton.from_config(config)
    results = (workdir / f"eval_step{step}_coco_results.json"
               if skel.metric == skeleton.OKS_AP else None)
    report = trainer.evaluate(variables, results_path=results)
    final = {k: v for k, v in report.items() if k != "crops"}
    final["step"] = step
    if jax.process_index() == 0:
      say(table(final, skel))
      path = workdir / f"eval_step{step}.json"
      path.write_text(json.dumps(final, indent=1))
      say(f"step {step} of {workdir}: wrote {path}"
          + (f" and {results}" if results else ""))
  return final


def _as_eval_config(saved: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A checkpoint's saved config, to evaluate with on this machine, whose devices need not be
  the training's: parameters replicated (config.mesh.fsdp=1) where its FSDP size does not
  divide them."""
  config = ml_collections.ConfigDict(saved.to_dict())
  if jax.device_count() % config.mesh.fsdp:
    config.mesh.fsdp = 1
  config.lock()
  return config
