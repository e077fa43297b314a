"""The training and evaluation loops (IO: data, devices, checkpoints, logs)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from typing import Any

import jax
import ml_collections
import numpy as np

from msposejax import skeleton
from msposejax.config_checks import validate_config
from msposejax.data import pipeline, worker_guard
from msposejax.state import checkpointing
from msposejax.training import log_file, sharding
from msposejax.training.eval_checkpoint import evaluate_checkpoint  # noqa: F401  (main.py)
from msposejax.training.metric_writer import MetricWriter
from msposejax.training.reports import (headline_value, loss_share_line, save_predictions_png,
                                        say, summary, table)
from msposejax.training.stop_request import StopRequest
from msposejax.training.trainer import Trainer
from msposejax.training.workdir_lock import WorkdirLock

_log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
  pass



def _with_stream_start(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A copy of the config whose data.stream_start is resolved (it is saved with every
  checkpoint, so a later stage started from this run knows where the stream stands)."""
  start = checkpointing.stream_start(config)
  config = config.copy_and_resolve_references()
  with config.unlocked():
    config.data.stream_start = start
  config.lock()
  if start:
    say(f"data: continuing the seed's training stream at example {start}")
  return config


def train(config: ml_collections.ConfigDict, workdir: str | os.PathLike) -> dict[str, Any]:
  """Trains (resuming from the workdir's latest checkpoint), evaluates, writes the results.

  Raises WorkdirBusyError at once if another training holds the workdir.
  """
  t_start = time.time()
  validate_config(config)
  config = _with_stream_start(config)
  worker_guard.mark_main_process()
  # Process 0 holds the lock: every process of one multi-host run shares the workdir.
  lock = WorkdirLock(checkpointing.as_path(workdir)) if jax.process_index() == 0 \
      else contextlib.nullcontext()
  with lock, log_file.to_file(checkpointing.as_path(workdir)) as log_path:
    say(f"library log: {log_path}")
    return _train(config, workdir, t_start)


def _resume(mngr, trainer: Trainer, iterator, config: ml_collections.ConfigDict, workdir):
  """(state of the newest intact step or None, manager). A damaged step is named, moved to
  WORKDIR/damaged_checkpoints/ (kept, never deleted: the run will save that step again) and
  the step before it is tried."""
  moved = False
  for step in sorted(mngr.all_steps(), reverse=True):
    try:
      saved = checkpointing.saved_config_checked(mngr, step)
      if checkpointing.holds_weights_only(mngr, step):
        raise ValueError(f"{workdir} step {step} holds weights only (import-torch), no training "
                         f"to resume: train from it in a new workdir with "
                         f"--config.init_from={workdir}")
      checkpointing.check_same_model(saved, config, str(workdir))
      checkpointing.check_resumable(saved, config, str(workdir))
      state = checkpointing.restore_checked(mngr, step, trainer.abstract_state, iterator)
    except checkpointing.DamagedCheckpointError as e:
      aside = workdir / "damaged_checkpoints" / str(step)
      if jax.process_index() == 0:
        aside.parent.mkdir(parents=True, exist_ok=True)
        (workdir / checkpointing.CHECKPOINT_DIR / str(step)).rename(aside)
      say(f"{e}; moved to {aside} (kept); trying the step before it")
      moved = True
      continue
    if moved:  # the manager still lists the moved steps
      mngr.close()
      mngr = checkpointing.manager(workdir, config)
    say(f"resumed from {workdir / checkpointing.CHECKPOINT_DIR / str(step)}")
    return state, mngr
  if moved:
    raise checkpointing.DamagedCheckpointError(
        f"no intact checkpoint in {workdir / checkpointing.CHECKPOINT_DIR}: every step was "
        f"damaged (moved to {workdir / 'damaged_checkpoints'}); start again with a new workdir")
  return None, mngr


def _train(config: ml_collections.ConfigDict, workdir: str | os.PathLike,
           t_start: float) -> dict[str, Any]:
  trainer = Trainer(config, workdir)
  workdir = trainer.workdir
  workdir.mkdir(parents=True, exist_ok=True)
  mngr = checkpointing.manager(workdir, config)
  iterator = iter(pipeline.train_loader(config, start=config.data.stream_start))
  interrupted = False
  try:
    state, mngr = _resume(mngr, trainer, iterator, config, workdir)
    return _fit(trainer, mngr, state, iterator, config, t_start)
  except KeyboardInterrupt:  # a second Ctrl-C (the first saves and stops), or one after the loop
    # Handled here, not re-raised: the exception's frames hold batches in shared memory, which
    # `pipeline.close` below can free only once they are gone.
    interrupted = True
  finally:
    try:
      mngr.close()  # waits for a save still being written (it may raise: the save failed)
    finally:
      pipeline.close(iterator)  # while the interpreter can still free its shared memory
  if interrupted:
    say(f"\nCtrl-C: stopped at once, nothing more saved; last checkpoint: "
         f"{_latest_saved(mngr)}")
    raise SystemExit(130)


def _latest_saved(mngr) -> int | None:
  try:
    return mngr.latest_step()
  except Exception:  # pylint: disable=broad-except  (only a message depends on it)
    return None


def _fit(trainer: Trainer, mngr, state, iterator, config: ml_collections.ConfigDict,
         t_start: float) -> dict[str, Any]:
  """Trains from `state` (None: a new one) to config.total_steps (or a stop request), then
  evaluates."""
  workdir = trainer.workdir
  if state is None:
    state = trainer.init_state()
  if jax.process_index() == 0:
    from clu import parameter_overview  # imports no TensorFlow (docs/method.md §9)
    _log.info("parameters:\n%s", parameter_overview.get_parameter_overview(
        jax.eval_shape(lambda: state.params), include_stats=False))
  train_step = trainer.compile_train_step()
  writer = MetricWriter(workdir)
  preemption = StopRequest().__enter__()
  start = int(state.step)
  skel = skeleton.from_config(config)
  headline = skel.headline
  total = config.total_steps
  pending: list[dict] = []
  t_log, step_log = time.time(), start
  say(f"training {config.model.num_stacks}-stack model for {total} steps "
        f"(batch {config.batch_size}, {jax.device_count()} devices) from step {start}")
  try:
    for step in range(start, total):
      batch = sharding.global_batch(next(iterator), trainer.mesh)
      state, metrics = train_step(state, batch)
      pending.append(metrics)
      # At most one step in flight: dispatching ahead gains nothing once the host prepares the
      # next batch while this one runs, and a queue of dispatched steps would make a stop
      # (Ctrl-C, SIGTERM: handled between steps) wait for all of them before its checkpoint.
      if len(pending) > 1:
        jax.block_until_ready(pending[-2])
      done = step + 1
      if step == start:
        say(loss_share_line(jax.device_get(metrics), config, done))
      if (config.log_every and done % config.log_every == 0) or done == total:
        host = jax.device_get(pending)
        pending = []
        bad = [i for i, m in enumerate(host) if m["nonfinite"] > 0]
        if bad:
          m = host[bad[0]]
          terms = [k for k, v in m.items() if k.startswith("loss/") and not np.isfinite(v)]
          mngr.wait_until_finished()
          raise NonFiniteLossError(
              f"non-finite loss at step {done - len(host) + bad[0] + 1}: terms "
              f"{terms or ['grad_norm']}; the state was not updated; last checkpoint: "
              f"{mngr.latest_step()}")
        avg = {k: float(np.mean([m[k] for m in host])) for k in host[0] if k != "nonfinite"}
        now = time.time()
        rate = (done - step_log) * config.batch_size / (now - t_log)
        eta = (total - done) * (now - t_log) / max(done - step_log, 1)
        avg["perf/examples_per_second"] = rate
        writer.write_scalars(done, avg)
        terms = " ".join(f"{k[5:]}={v:.4g}" for k, v in avg.items()
                         if k.startswith("loss/") and k != "loss/total")
        say(f"step {done}/{total} loss={avg['loss/total']:.4g} ({terms}) "
              f"{rate:.1f} ex/s ETA {eta / 60:.1f} min")
        t_log, step_log = now, done
      metrics_for_ckpt = None
      if config.eval_every and done % config.eval_every == 0 and done != total:
        report = trainer.evaluate(state.variables())
        metrics_for_ckpt = {headline: headline_value(report, skel)}
        writer.write_scalars(done, summary(report))
        say(f"step {done}: {skel.headline_label} {headline_value(report, skel):.4f}")
        t_log = time.time()
      if done == total:
        break  # the final checkpoint is saved below, with its PCKh
      if (config.checkpoint.every and done % config.checkpoint.every == 0) or metrics_for_ckpt \
          or preemption.requested \
          or mngr.reached_preemption(done):
        checkpointing.save(mngr, state, config, iterator, metrics=metrics_for_ckpt)
      if preemption.requested or mngr.reached_preemption(done):
        mngr.wait_until_finished()
        say(f"stopping at step {done} on {preemption.requested or 'preemption'}; checkpoint "
              f"saved in {workdir / checkpointing.CHECKPOINT_DIR / str(done)}")
        return {"preempted_at": done}
  finally:
    preemption.__exit__()
  if mngr.latest_step() != total:  # saved before evaluating: a failing evaluation loses nothing
    checkpointing.save(mngr, state, config, iterator, force=True)
    mngr.wait_until_finished()
  results = workdir / "coco_results.json" if skel.metric == skeleton.OKS_AP else None
  report = trainer.evaluate(state.variables(), num_visualize=config.num_visualize,
                            results_path=results)
  final = {k: v for k, v in report.items() if k != "crops"}
  checkpointing.resave_with_metrics(mngr, state, config, iterator,
                                    {headline: headline_value(final, skel)})
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

