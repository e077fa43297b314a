"""The training and evaluation loops (IO: data, devices, checkpoints, logs)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from PIL import Image

from msposejax import skeleton
from msposejax.config_checks import validate_config
from msposejax.data import pipeline, worker_guard
from msposejax.codecs.multiscale import MultiScaleCodec
from msposejax.evaluation import coco_eval
from msposejax.evaluation.pckh import format_table
from msposejax.evaluation.report import pckh_report
from msposejax.draw import draw_skeleton, grid
from msposejax.losses.total import loss_shares, make_loss_fn, scale_weights
from msposejax.models import pose_net_from_config
from msposejax.state import checkpointing
from msposejax.state.variables import abstract_variables, init_variables
from msposejax.training import evaluator, log_file, sharding
from msposejax.training.metric_writer import MetricWriter
from msposejax.training.optimizer import learning_rate_schedule, make_optimizer
from msposejax.inference.predict_step import make_predict_step
from msposejax.training.steps import make_train_step
from msposejax.state.train_state import TrainState
from msposejax.training.workdir_lock import WorkdirLock

_log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
  pass


def _abstract_batch(config: ml_collections.ConfigDict, mesh) -> dict:
  s = sharding.batch_sharding(mesh)
  return jax.tree.map(lambda spec: jax.ShapeDtypeStruct(*spec, sharding=s),
                      MultiScaleCodec.from_config(config).batch_layout(config.batch_size),
                      is_leaf=lambda x: isinstance(x, tuple))


class Trainer:
  """Everything a run needs, built once from a config: mesh, model, state, jitted steps."""

  def __init__(self, config: ml_collections.ConfigDict, workdir: str | os.PathLike,
               devices=None):
    validate_config(config)
    self.config = config
    self.workdir = checkpointing.as_path(workdir)
    self.mesh = sharding.make_mesh(config, devices)
    self.model = pose_net_from_config(config.model)
    self.tx = make_optimizer(config)
    self.schedule = learning_rate_schedule(config)
    n = config.input_size

    def init(variables):
      return TrainState(step=jnp.zeros((), jnp.int32), params=variables["params"],
                        batch_stats=variables["batch_stats"],
                        opt_state=self.tx.init(variables["params"]))

    abstract = jax.eval_shape(init, abstract_variables(self.model, n))
    self.state_shardings = sharding.state_shardings(abstract, self.mesh)
    self.abstract_state = jax.tree.map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract,
        self.state_shardings)
    self._init = jax.jit(init, out_shardings=self.state_shardings)
    self.predict = jax.jit(make_predict_step(self.model, config))

  def init_state(self) -> TrainState:
    # Initialised op by op (cheap to compile, state/variables.py), then placed: host arrays
    # are the same on every process, so the jit shards them over the global mesh.
    variables = jax.device_get(init_variables(self.model, self.config.input_size,
                                              self.config.seed))
    state = self._init(variables)
    if self.config.init_from:
      state = self._load_init_from(state)
    return state

  def _load_init_from(self, state: TrainState) -> TrainState:
    src_dir, step = checkpointing.resolve(self.config.init_from)
    with checkpointing.manager(src_dir, read_only=True) as mngr:
      src_config = checkpointing.saved_config_checked(mngr, step)
      # The source's weights only (a full train state or an import-torch checkpoint).
      restored = checkpointing.restore_variables(mngr, step, abstract_variables(
          pose_net_from_config(src_config.model), src_config.input_size,
          sharding.replicated(self.mesh)))
    variables, loaded, new = checkpointing.load_partial(
        {"params": state.params, "batch_stats": state.batch_stats}, restored)
    new_modules = sorted({p.split("/")[1] for p in new})
    report = (f"init_from {src_dir} (step {step}): {len(loaded)} arrays loaded, {len(new)} new"
              + (f" (new modules: {', '.join(new_modules)})" if new else ""))
    _log.info(report)
    _say(report)
    return state.replace(params=variables["params"], batch_stats=variables["batch_stats"],
                         opt_state=self.tx.init(variables["params"]))

  def compile_train_step(self):
    step = jax.jit(make_train_step(self.model, self.tx, make_loss_fn(self.config), self.schedule),
                   in_shardings=(self.state_shardings, sharding.batch_sharding(self.mesh)),
                   out_shardings=(self.state_shardings, sharding.replicated(self.mesh)),
                   donate_argnums=0)
    t0 = time.time()
    compiled = step.lower(self.abstract_state, _abstract_batch(self.config, self.mesh)).compile()
    memory = compiled.memory_analysis()
    if memory is not None:
      _log.info("train step compiled in %.1fs; memory: arguments %.1f MB, temporaries %.1f MB, "
                "outputs %.1f MB", time.time() - t0, memory.argument_size_in_bytes / 1e6,
                memory.temp_size_in_bytes / 1e6, memory.output_size_in_bytes / 1e6)
    return compiled

  def abstract_variables(self) -> dict[str, Any]:
    """The model's {"params", "batch_stats"} as placed in the train state (no optimizer)."""
    return {"params": self.abstract_state.params,
            "batch_stats": self.abstract_state.batch_stats}

  def evaluate(self, variables: dict[str, Any], num_visualize: int = 0,
               results_path=None) -> dict[str, Any]:
    """The eval split's report: PCKh / PCK over the stored crops, or for COCO-format data
    OKS AP over the photos (`coco_evaluator`, which writes its results rows to
    `results_path`)."""
    if skeleton.from_config(self.config).metric == skeleton.OKS_AP:
      from msposejax.training import coco_evaluator
      return coco_evaluator.evaluate(self.config, variables, num_visualize, results_path)
    source = pipeline.open_source(self.config, self.config.data.eval_split)
    num = min(len(source), self.config.eval_num_examples or len(source))
    loader = pipeline.eval_loader(self.config, source=source, num_examples=num)
    results = evaluator.predict_split(self.predict, variables, self.config, self.mesh,
                                      loader, num, keep_images=num_visualize)
    report = pckh_report(results, skeleton.from_config(self.config))
    report["crops"] = results["crops"]
    return report


def _share_line(terms: dict[str, Any], config: ml_collections.ConfigDict, step: int) -> str:
  """Each scale's part of the first step's loss: a user sees which head drives training."""
  shares = loss_shares({k: v for k, v in terms.items() if k.startswith("loss/")},
                       scale_weights(config))
  how = "balanced λ_r" if config.loss.balance_scales else "raw λ_r"
  return (f"loss at step {step} by scale ({how}, all stacks): "
          + " · ".join(f"{k} {100 * v:.0f}%" for k, v in shares.items()))


def headline_value(report: dict[str, Any], skel: skeleton.Skeleton) -> float:
  """The report's headline number (PCKh@0.5, PCK@0.2's mean, or OKS AP)."""
  value = report[skel.headline]
  return float(value["mean"] if isinstance(value, dict) else value)


def _summary(report: dict[str, Any]) -> dict[str, float]:
  # OKS AP and AR (COCO's 10; CrowdPose's easy / medium / hard APs too).
  out = {f"eval/{key}": float(v) for key, v in report.items()
         if key.startswith("oks_") and isinstance(v, float)}
  for key, res in report.items():
    if isinstance(res, dict) and "mean" in res:
      out[f"eval/{key}/mean"] = res["mean"]
      if "/" not in key:
        out.update({f"eval/{key}/{p}": v for p, v in res["part"].items()})
  return out


def _table(report: dict[str, Any], skel: skeleton.Skeleton) -> str:
  if skel.metric == skeleton.OKS_AP:
    return (coco_eval.format_table(report) + f"\n({report['num_results']} people after "
            f"OKS-NMS from {report['num_boxes']} {report['boxes']} boxes in "
            f"{report['num_images']} images)")
  table = format_table([report[skeleton.metric_key(skel, t)] for t in skel.thresholds],
                       skel.metric)
  if report.get("num_without_normaliser"):
    table += (f"\n({report['num_without_normaliser']} people without a torso size left out of "
              f"{report['num_people'] + report['num_without_normaliser']})")
  return table


def _save_predictions_png(report: dict[str, Any], path, skel: skeleton.Skeleton) -> None:
  tiles = [draw_skeleton(np.asarray(im), np.asarray(c), np.asarray(s), skel=skel)
           for im, c, s in report["crops"]]
  if tiles:
    with path.open("wb") as f:
      Image.fromarray(grid(tiles, columns=min(4, len(tiles)))).save(f, format="PNG")


class _StopRequest:
  """SIGTERM (TPU preemption, `kill`) and Ctrl-C ask the loop to checkpoint and exit at the
  end of the step; a second Ctrl-C aborts at once, without saving."""

  def __init__(self):
    self.requested: str | None = None  # what asked, once asked
    self._previous = {}
    try:
      for signum in (signal.SIGTERM, signal.SIGINT):
        self._previous[signum] = signal.signal(signum, self._handle)
    except ValueError:  # not the main thread (an embedding application): no handlers
      pass

  def _handle(self, signum, frame):
    if signum == signal.SIGINT:
      if self.requested == "Ctrl-C":
        raise KeyboardInterrupt
      _say("\nCtrl-C: saving a checkpoint after this step and stopping (Ctrl-C again aborts "
            "without saving)")
    self.requested = self.requested or ("Ctrl-C" if signum == signal.SIGINT else "SIGTERM")

  def restore(self):
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)


def _say(*args, **kwargs) -> None:
  """The console is for people, and only process 0 speaks (always flushed: logs are tailed)."""
  if jax.process_index() == 0:
    kwargs.setdefault("flush", True)
    print(*args, **kwargs)


def _with_stream_start(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A copy of the config whose data.stream_start is resolved (it is saved with every
  checkpoint, so a later stage started from this run knows where the stream stands)."""
  start = checkpointing.stream_start(config)
  config = config.copy_and_resolve_references()
  with config.unlocked():
    config.data.stream_start = start
  config.lock()
  if start:
    _say(f"data: continuing the seed's training stream at example {start}")
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
    _say(f"library log: {log_path}")
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
      _say(f"{e}; moved to {aside} (kept); trying the step before it")
      moved = True
      continue
    if moved:  # the manager still lists the moved steps
      mngr.close()
      mngr = checkpointing.manager(workdir, config)
    _say(f"resumed from {workdir / checkpointing.CHECKPOINT_DIR / str(step)}")
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
    _say(f"\nCtrl-C: stopped at once, nothing more saved; last checkpoint: "
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
  preemption = _StopRequest()
  start = int(state.step)
  skel = skeleton.from_config(config)
  headline = skel.headline
  total = config.total_steps
  pending: list[dict] = []
  t_log, step_log = time.time(), start
  _say(f"training {config.model.num_stacks}-stack model for {total} steps "
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
        _say(_share_line(jax.device_get(metrics), config, done))
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
        _say(f"step {done}/{total} loss={avg['loss/total']:.4g} ({terms}) "
              f"{rate:.1f} ex/s ETA {eta / 60:.1f} min")
        t_log, step_log = now, done
      metrics_for_ckpt = None
      if config.eval_every and done % config.eval_every == 0 and done != total:
        report = trainer.evaluate(state.variables())
        metrics_for_ckpt = {headline: headline_value(report, skel)}
        writer.write_scalars(done, _summary(report))
        _say(f"step {done}: {skel.headline_label} {headline_value(report, skel):.4f}")
        t_log = time.time()
      if done == total:
        break  # the final checkpoint is saved below, with its PCKh
      if (config.checkpoint.every and done % config.checkpoint.every == 0) or metrics_for_ckpt \
          or preemption.requested \
          or mngr.reached_preemption(done):
        checkpointing.save(mngr, state, config, iterator, metrics=metrics_for_ckpt)
      if preemption.requested or mngr.reached_preemption(done):
        mngr.wait_until_finished()
        _say(f"stopping at step {done} on {preemption.requested or 'preemption'}; checkpoint "
              f"saved in {workdir / checkpointing.CHECKPOINT_DIR / str(done)}")
        return {"preempted_at": done}
  finally:
    preemption.restore()
  if mngr.latest_step() != total:  # saved before evaluating: a failing evaluation loses nothing
    checkpointing.save(mngr, state, config, iterator, force=True)
    mngr.wait_until_finished()
  results = workdir / "coco_results.json" if skel.metric == skeleton.OKS_AP else None
  report = trainer.evaluate(state.variables(), num_visualize=config.num_visualize,
                            results_path=results)
  final = {k: v for k, v in report.items() if k != "crops"}
  checkpointing.resave_with_metrics(mngr, state, config, iterator,
                                    {headline: headline_value(final, skel)})
  writer.write_scalars(total, _summary(report))
  writer.close()
  final["wall_time_s"] = time.time() - t_start
  final["step"] = total
  if jax.process_index() == 0:
    (workdir / "final_metrics.json").write_text(json.dumps(final, indent=1))
    _save_predictions_png(report, workdir / "predictions.png", skel)
    _say(_table(final, skel))
    _say(f"wrote {workdir / 'final_metrics.json'} and {workdir / 'predictions.png'}"
         + (f" and {results}" if results else ""))
  return final


def evaluate_checkpoint(config: ml_collections.ConfigDict, workdir: str | os.PathLike,
                        step: int | None = None) -> dict[str, Any]:
  """`msposejax eval`: PCKh, PCK or OKS AP of one checkpoint (default: the best, else the
  latest)."""
  workdir, best = checkpointing.resolve(workdir)
  step = step if step is not None else best
  with log_file.to_file(workdir):
    trainer = Trainer(config, workdir)
    with checkpointing.manager(workdir, read_only=True) as mngr:
      checkpointing.check_same_model(checkpointing.saved_config_checked(mngr, step), config,
                                     str(workdir))
      variables = checkpointing.restore_variables(mngr, step, trainer.abstract_variables())
    skel = skeleton.from_config(config)
    results = (workdir / f"eval_step{step}_coco_results.json"
               if skel.metric == skeleton.OKS_AP else None)
    report = trainer.evaluate(variables, results_path=results)
    final = {k: v for k, v in report.items() if k != "crops"}
    final["step"] = step
    if jax.process_index() == 0:
      _say(_table(final, skeleton.from_config(config)))
      (workdir / f"eval_step{step}.json").write_text(json.dumps(final, indent=1))
  return final
