"""A model's predictions over the eval split on the mesh (IO: reads data, gathers across
hosts); the metric report is `evaluation.report`."""

from __future__ import annotations

import math
from typing import Any, Callable

import jax
import ml_collections
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh

from msposejax.data import geometry, pipeline
from msposejax.training.sharding import global_batch

_KEEP = ("joints", "visible", "normaliser", "joint_occluded", "valid", "occluded", "crowded",
         "scale_small")


def _pad(batch: dict, size: int) -> dict:
  n = len(batch["valid"])
  if n == size:
    return batch
  return jax.tree.map(lambda x: np.concatenate([x, np.zeros((size - n,) + x.shape[1:], x.dtype)]),
                      batch)


def predict_split(predict: Callable, variables: Any, config: ml_collections.ConfigDict,
                  mesh: Mesh, loader, num_examples: int, keep_images: int = 0
                  ) -> dict[str, np.ndarray]:
  """Runs `predict` over the loader; returns host arrays for all processes' examples.

  Every process runs the same number of (padded) batches so the jitted, globally sharded
  predict stays in lockstep. Predictions come back in stored-image pixels.
  """
  per_process = math.ceil(num_examples / jax.process_count())
  num_batches = math.ceil(per_process / config.eval_batch_size)
  iterator = iter(loader)
  try:
    out, images = _predict_batches(predict, variables, config, mesh, iterator, num_batches,
                                   keep_images)
    local = {k: np.concatenate(v) for k, v in out.items()}
    del out  # views of the batches: dropped before `close` frees their memory
  finally:
    pipeline.close(iterator)
  if jax.process_count() > 1:
    local = {k: np.asarray(multihost_utils.process_allgather(v)).reshape((-1,) + v.shape[1:])
             for k, v in local.items()}
  local["crops"] = images[:keep_images]
  return local


def _predict_batches(predict, variables, config, mesh, iterator, num_batches, keep_images):
  out: dict[str, list] = {k: [] for k in ("pred", "scores", *_KEEP)}
  images = []
  template = None
  for _ in range(num_batches):
    batch = next(iterator, None)
    if batch is None:  # this process ran out: feed invalid padding
      batch = jax.tree.map(np.zeros_like, template)
    template = batch
    batch = _pad(batch, config.eval_batch_size)
    arrays = global_batch({"image": batch["image"]}, mesh)
    coords, scores = predict(variables, arrays["image"])
    coords = np.asarray(multihost_utils.global_array_to_host_local_array(
        coords, mesh, jax.sharding.PartitionSpec(("data", "fsdp"))))
    scores = np.asarray(multihost_utils.global_array_to_host_local_array(
        scores, mesh, jax.sharding.PartitionSpec(("data", "fsdp"))))
    stored = np.stack([geometry.apply_affine(m, c) for m, c in zip(batch["crop_to_stored"], coords)])
    out["pred"].append(stored.astype(np.float32))
    out["scores"].append(scores)
    for k in _KEEP:
      out[k].append(np.asarray(batch[k]))
    if len(images) < keep_images:
      images.extend((im, c, s) for im, c, s, v in zip(batch["image"], coords, scores,
                                                      batch["valid"]) if v)
  return out, images
