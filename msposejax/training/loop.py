"""`msposejax train`: the training loop, from the workdir's newest step to the final report
(IO: data, devices, checkpoints, logs)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from typing import Any

import jax
import ml_collections

from msposejax import skeleton
from msposejax.config_checks import check_same_model, validate_config
from msposejax.data import pipeline, worker_guard
from msposejax.data.stream_position import stream_start
from msposejax.state import checkpointing
from msposejax.training import log_file, sharding
from msposejax.training.compatibility import check_resumable
from msposejax.training.metric_writer import MetricWriter
from msposejax.training.reports import headline_value, save_predictions_png, say, summary, table
from msposejax.training.stop_request import StopRequest
from msposejax.training.train_log import TrainLog
from msposejax.training.trainer import Trainer
from msposejax.training.workdir_lock import WorkdirLock

_log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
  pass


def is_due(step: int, every: int, total: int, at_the_end: bool = True) -> bool:
  """Whether a periodic action (every `every` steps; 0: never) is due once `step` steps are
  done; `at_the_end`: also after the last step."""
  return (every > 0 and step % every == 0) or (at_the_end and step == total)


def train(config: ml_collections.ConfigDict, workdir: str | os.PathLike) -> dict[str, Any]:
  """Trains (resuming from the workdir's newest intact step), evaluates, writes the results.

  Raises WorkdirBusyError at once if another training holds the workdir.
  """
  t_start = time.time()
  validate_config(config)
  config = _with_stream_start(config)
  worker_guard.mark_main_process()
  workdir = checkpointing.as_path(workdir)
  # Process 0 holds the lock: every process of one multi-host run shares the workdir.
  lock = WorkdirLock(workdir) if jax.process_index() == 0 else contextlib.nullcontext()
  with lock, log_file.to_file(workdir) as log_path:
    say(f"library log: {log_path}")
    trainer = Trainer(config, workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ckpt, iterator, stop = checkpointing.Checkpointer(workdir, config), None, StopRequest()
    try:
      iterator = iter(pipeline.train_loader(config, start=config.data.stream_start))
      with stop:
        return train_and_evaluate(trainer, ckpt, iterator, stop, t_start)
    except KeyboardInterrupt:  # a second Ctrl-C (the first saves and stops), or a stop at once
      # Handled here, not re-raised: the exception's frames hold batches in shared memory,
      # which `pipeline.close` below can free only once they are gone.
      pass
    finally:
      try:
        ckpt.close()  # waits for a save still being written (it may fail: a full disk)
      finally:
        if iterator is not None:
          pipeline.close(iterator)  # while the interpreter can still free its shared memory
    what = stop.requested or "Ctrl-C"
    say(f"\n{what}: stopped at once; last checkpoint: {ckpt.latest_step()}")
    raise SystemExit(130 if what == "Ctrl-C" else 143)


def train_and_evaluate(trainer: Trainer, ckpt: checkpointing.Checkpointer, iterator,
                       stop: StopRequest, t_start: float) -> dict[str, Any]:
  """Trains from the newest intact step (or a new state) to config.total_steps, or until a
  stop is asked for (then {"preempted_at": step}); evaluates and writes the final report."""
  config, workdir = trainer.config, trainer.workdir

  def check(saved: ml_collections.ConfigDict) -> None:  # a step of this model and this run
    check_same_model(saved, config, str(workdir))
    check_resumable(saved, config, str(workdir))

  state = ckpt.resume(trainer.abstract_state, iterator, check, say)
  if state is None:
    state = trainer.init_state()
  if jax.process_index() == 0:
    from clu import parameter_overview  # imports no TensorFlow (docs/method.md §9)
    _log.info("parameters:\n%s", parameter_overview.get_parameter_overview(
        jax.eval_shape(lambda: state.params), include_stats=False))
  train_step = trainer.compile_train_step()
  writer = MetricWriter(workdir)
  skel = skeleton.from_config(config)
  start, total = int(state.step), config.total_steps
  log = TrainLog(writer, config, start)
  say(f"training {config.model.num_stacks}-stack model for {total} steps "
      f"(batch {config.batch_size}, {jax.device_count()} devices) from step {start}")
  stop.at_once = False  # a stop now waits for the step in flight, and saves it
  for step in range(start + 1, total + 1):
    state, metrics = train_step(state, sharding.global_batch(next(iterator), trainer.mesh))
    log.add(step, metrics)
    if is_due(step, config.log_every, total) and (bad := log.write(step)):
      ckpt.wait_until_finished()
      raise NonFiniteLossError(f"{bad}; the state was not updated; last checkpoint: "
                               f"{ckpt.latest_step()}")
    stopping = stop.requested or ckpt.reached_preemption(step)
    if step == total and not stopping:
      break  # the final step is saved below, once, with its evaluation
    metric = None
    if is_due(step, config.eval_every, total, at_the_end=False) and not stopping:
      report = trainer.evaluate(state.variables())
      metric = {skel.headline: headline_value(report, skel)}
      writer.write_scalars(step, summary(report))
      say(f"step {step}: {skel.headline_label} {headline_value(report, skel):.4f}")
      log.restart_clock()
    if is_due(step, config.checkpoint.every, total, at_the_end=False) or metric or stopping:
      ckpt.save(state, iterator, metrics=metric)
    if stopping:
      ckpt.wait_until_finished()
      say(f"stopping at step {step} on {stop.requested or 'preemption'}; checkpoint saved in "
          f"{ckpt.directory / str(step)}")
      return {"preempted_at": step}

  results = workdir / "coco_results.json" if skel.metric == skeleton.OKS_AP else None
  saved = ckpt.metric(total) is not None if total in ckpt.steps() else False  # a rerun's
  # Ctrl-C or SIGTERM abort the evaluation (the step is saved below); not on several hosts,
  # where each would abort at its own point of the collectives and wait in the save.
  stop.at_once = jax.process_count() == 1
  try:  # the in-memory final state, then one save with its metric (orbax's best-N sees it)
    report = trainer.evaluate(state.variables(), num_visualize=config.num_visualize,
                              results_path=results)
  except BaseException:  # a failing (or Ctrl-C'd) evaluation loses no training
    if total not in ckpt.steps():
      ckpt.save(state, iterator, force=True)
      ckpt.wait_until_finished()
    raise
  final = {k: v for k, v in report.items() if k != "crops"}
  if not saved:  # (a step saved without its metric, its evaluation stopped, is replaced)
    ckpt.save(state, iterator, metrics={skel.headline: headline_value(final, skel)}, force=True)
    ckpt.wait_until_finished()
  writer.write_scalars(total, summary(report))
  writer.close()
  final["wall_time_s"] = time.time() - t_start
  final["step"] = total
  if jax.process_index() == 0:
    (workdir / "final_metrics.json").write_text(json.dumps(final, indent=1))
    save_predictions_png(report, workdir / "predictions.png", skel)
    say(table(final, skel))
    say(f"wrote {workdir / 'final_metrics.json'} and {workdir / 'predictions.png'}"
        + (f" and {results}" if results else ""))
  return final


def _with_stream_start(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A copy of the config whose data.stream_start is resolved (it is saved with every
  checkpoint, so a later stage started from this run knows where the stream stands)."""
  source = (checkpointing.saved_config_of(config.init_from)
            if config.init_from and config.data.stream_start < 0 else None)
  start = stream_start(config, source)
  config = config.copy_and_resolve_references()
  with config.unlocked():
    config.data.stream_start = start
  config.lock()
  if start:
    say(f"data: continuing the seed's training stream at example {start}")
  return config
