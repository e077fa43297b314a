"""Everything a run needs, built once from a config: the mesh, the model, the optimizer, the
train state's shapes and shardings, the jitted train and predict steps, `init_from` and the
eval split's report (IO: devices, data, checkpoints)."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from msposejax import skeleton
from msposejax.codecs.multiscale import MultiScaleCodec
from msposejax.data import pipeline
from msposejax.evaluation.report import pckh_report
from msposejax.inference.predict_step import make_predict_step
from msposejax.losses.total import make_loss_fn
from msposejax.models import pose_net_from_config
from msposejax.state import checkpointing
from msposejax.state.train_state import TrainState
from msposejax.state.variables import abstract_variables, init_variables, load_partial
from msposejax.training import evaluator, sharding
from msposejax.training.optimizer import learning_rate_schedule, make_optimizer
from msposejax.training.reports import say
from msposejax.training.steps import make_train_step

_log = logging.getLogger(__name__)


def _abstract_batch(config: ml_collections.ConfigDict, mesh) -> dict:
  s = sharding.batch_sharding(mesh)
  return jax.tree.map(lambda spec: jax.ShapeDtypeStruct(*spec, sharding=s),
                      MultiScaleCodec.from_config(config).batch_layout(config.batch_size),
                      is_leaf=lambda x: isinstance(x, tuple))


class Trainer:
  """Everything a run needs, built once from a config (validated: `config_checks`, as `train`
  and `evaluate_checkpoint` do): mesh, model, state, jitted steps."""

  def __init__(self, config: ml_collections.ConfigDict, workdir: str | os.PathLike,
               devices=None):
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
    with checkpointing.Checkpointer(src_dir, read_only=True) as ckpt:
      src_config = ckpt.saved_config(step)
      # The source's weights only (a full train state or an import-torch checkpoint).
      restored = ckpt.restore_variables(step, abstract_variables(
          pose_net_from_config(src_config.model), src_config.input_size,
          sharding.replicated(self.mesh)))
    variables, loaded, new = load_partial(
        {"params": state.params, "batch_stats": state.batch_stats}, restored)
    new_modules = sorted({p.split("/")[1] for p in new})
    report = (f"init_from {src_dir} (step {step}): {len(loaded)} arrays loaded, {len(new)} new"
              + (f" (new modules: {', '.join(new_modules)})" if new else ""))
    _log.info(report)
    say(report)
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
