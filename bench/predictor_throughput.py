"""CPU inference, images/s with flip test: our jitted predictor, the ONNX export in
onnxruntime and the PyTorch reference network (eager, inference mode), in one run.

  python bench/predictor_throughput.py --configs quickstart,hourglass8 --batches 1,32

At batch 1 the JAX predictor and onnxruntime (1 and 2 intra-op threads) are timed
interleaved: --rounds rounds, each one call of every runtime in a rotating order, so that the
load of a shared machine falls on all of them alike; the medians and the median per-round
ratio are reported.

Each runtime does the same work on uint8 person crops (B, n, n, 3): normalise, network on
the crops and their mirrors, un-mirror and average, decode to keypoints (argmax + ¼-px
shift; the decode of the config for JAX and ONNX). The PyTorch reference is princeton-vl's
plain hourglass with the config's stacks, channels and depth: for MSS + MSR configs
(quickstart) it lacks the MSS heads and MSR-net, so it does less work than ours. PyTorch
gets its best thread count and memory format (tried at batch 1); onnxruntime its best
intra-op thread count. The "plain" rows run our JAX network without MSS and MSR, the
reference's network. Random weights (speed does not depend on the values). Median of
--repeats timed calls after one untimed call (which compiles). Also: `Predictor.predict` on
480×640 images (host crop and mapping back included), and the ONNX export's time.
Prints one JSON line per measurement.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time

import numpy as np
from absl import app, flags

from msposejax import skeleton
from msposejax.config_files import load_config
from msposejax.inference.predictor import Predictor
from msposejax.input_size import input_hw
from msposejax.models import pose_net_from_config
from msposejax.state.variables import init_variables

_CONFIGS = flags.DEFINE_list("configs", ["quickstart", "hourglass8"], "configs/NAME.py")
_BATCHES = flags.DEFINE_list("batches", ["1", "32"], "crops per call")
_REPEATS = flags.DEFINE_integer("repeats", 5, "timed calls at batch 1 (batch > 1: 2)")
_ROUNDS = flags.DEFINE_integer("rounds", 15, "interleaved rounds of JAX vs onnxruntime, batch 1")
_RUNTIMES = flags.DEFINE_list("runtimes", ["jax", "plain", "onnx", "torch", "predict"],
                              "which to measure; plain: JAX with model.mss = msr = False, the "
                              "network the PyTorch reference has")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def _median_s(fn, repeats: int) -> float:
  fn()
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
  return float(np.median(times))


def _interleaved(fns: dict, rounds: int) -> dict[str, list[float]]:
  """{name: call seconds per round}: each round calls every fn once, the order rotating."""
  for fn in fns.values():
    fn()
  names = list(fns)
  times = {name: [] for name in names}
  for r in range(rounds):
    for name in names[r % len(names):] + names[:r % len(names)]:
      t0 = time.perf_counter()
      fns[name]()
      times[name].append(time.perf_counter() - t0)
  return times


def _say(**row) -> None:
  print(json.dumps(row), flush=True)


def _torch_predict(config):
  """A PyTorch flip-test predict of uint8 crops with the reference hourglass."""
  import torch
  from msposejax.interop import torch_reference
  perm = list(skeleton.flip_permutation(config.model.num_joints,
                                        tuple(skeleton.from_config(config).flip_pairs)))

  def build(channels_last: bool):
    torch.manual_seed(0)
    net = torch_reference.from_config(config.model, channels_last=channels_last).eval()

    def predict(crops: np.ndarray):
      with torch.inference_mode():
        x = torch.from_numpy(crops).float() / 255.0
        both = net(torch.cat([x, x.flip(2)]))[:, -1]             # (2B, K, h, w)
        b = x.shape[0]
        heat = 0.5 * (both[:b] + both[b:].flip(3)[:, perm])
        flat = heat.flatten(2)
        idx = flat.argmax(-1)
        h, w = heat.shape[2:]
        ys, xs = idx // w, idx % w
        # ¼ px toward the higher neighbour (interior pixels), as our "quarter" decode.
        pad = torch.nn.functional.pad(heat, (1, 1, 1, 1))
        bi, ki = torch.meshgrid(torch.arange(b), torch.arange(heat.shape[1]), indexing="ij")
        dx = pad[bi, ki, ys + 1, xs + 2] - pad[bi, ki, ys + 1, xs]
        dy = pad[bi, ki, ys + 2, xs + 1] - pad[bi, ki, ys, xs + 1]
        coords = torch.stack([xs + 0.25 * dx.sign(), ys + 0.25 * dy.sign()], -1)
        return coords.numpy(), flat.max(-1).values.numpy()
    return predict

  return torch, build


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  common = {"machine": _cpu_model(), "cores": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d")}
  for name in _CONFIGS.value:
    config = load_config(os.path.join(REPO, "configs", f"{name}.py"))
    n = config.input_size
    model = pose_net_from_config(config.model)
    variables = init_variables(model, n, seed=0)
    predictor = Predictor(config, variables, flip_test=True)
    batches = [int(x) for x in _BATCHES.value]
    crops = {b: rng.integers(0, 256, (b, *input_hw(config), 3), dtype=np.uint8) for b in batches}
    reps = lambda b: _REPEATS.value if b == 1 else 2
    if "jax" in _RUNTIMES.value:
      for b in batches:
        s = _median_s(lambda: predictor.predict_crops(crops[b]), reps(b))
        _say(config=name, runtime="jax (jit)", batch=b, images_per_s=round(b / s, 2),
             call_s=round(s, 4), **common)
    if "plain" in _RUNTIMES.value and (config.model.mss or config.model.msr):
      plain_config = config.copy_and_resolve_references()
      plain_config.model.mss = plain_config.model.msr = False
      plain_model = pose_net_from_config(plain_config.model)
      plain = Predictor(plain_config, init_variables(plain_model, n, seed=0), flip_test=True)
      for b in batches:
        s = _median_s(lambda: plain.predict_crops(crops[b]), reps(b))
        _say(config=name, runtime="jax (jit), plain hourglass as the PyTorch reference",
             batch=b, images_per_s=round(b / s, 2), call_s=round(s, 4), **common)
    if "predict" in _RUNTIMES.value:
      for b in batches:
        images = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(b)]
        s = _median_s(lambda: predictor.predict(images, [(200, 60, 440, 460)] * b), reps(b))
        _say(config=name, runtime="jax Predictor.predict (480x640 images)", batch=b,
             images_per_s=round(b / s, 2), call_s=round(s, 4), **common)
    if "onnx" in _RUNTIMES.value:
      import onnxruntime as ort
      from msposejax.inference import onnx_export
      t0 = time.perf_counter()
      with tempfile.TemporaryDirectory() as out:
        onnx_export.export_onnx(predictor, out)
        model_bytes = open(os.path.join(out, "model.onnx"), "rb").read()
      _say(config=name, runtime="onnx export (convert + check)",
           seconds=round(time.perf_counter() - t0, 1), megabytes=round(len(model_bytes) / 1e6, 1),
           **common)
      sessions = {}
      for threads in (1, 2):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        # No spin-waiting after a call: onnxruntime's idle threads would otherwise keep a
        # core busy into the next runtime's call of the interleaved rounds (measured: JAX at
        # 42.8 img/s between onnxruntime calls, 71.0 alone, quickstart).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sessions[threads] = ort.InferenceSession(model_bytes, opts,
                                                 providers=["CPUExecutionProvider"])
      fns = {"jax (jit)": lambda: predictor.predict_crops(crops[1])}
      for threads, session in sessions.items():
        fns[f"onnxruntime {ort.__version__}, {threads} threads"] = (
            lambda session=session: session.run(None, {"images": crops[1]}))
      times = _interleaved(fns, _ROUNDS.value)
      jax_times = np.asarray(times["jax (jit)"])
      for runtime, ts in times.items():
        s1 = float(np.median(ts))
        row = dict(config=name, runtime=runtime, batch=1, images_per_s=round(1 / s1, 2),
                   call_s=round(s1, 4), interleaved_rounds=_ROUNDS.value, **common)
        if runtime != "jax (jit)":   # > 1: onnxruntime is faster, round by round
          row["median_speedup_vs_jax"] = round(float(np.median(jax_times / np.asarray(ts))), 3)
        _say(**row)
      best_threads = min(sessions, key=lambda t: np.median(
          times[f"onnxruntime {ort.__version__}, {t} threads"]))
      for b in batches:
        if b != 1:
          session = sessions[best_threads]
          s = _median_s(lambda: session.run(None, {"images": crops[b]}), reps(b))
          _say(config=name, runtime=f"onnxruntime {ort.__version__}, {best_threads} threads",
               batch=b, images_per_s=round(b / s, 2), call_s=round(s, 4), **common)
    if "torch" in _RUNTIMES.value:
      torch, build = _torch_predict(config)
      best = None
      for threads in (1, 2):
        torch.set_num_threads(threads)
        for channels_last in (False, True):
          predict = build(channels_last)
          s1 = _median_s(lambda: predict(crops[1]), _REPEATS.value)
          layout = "channels_last" if channels_last else "NCHW"
          _say(config=name, runtime=f"torch {torch.__version__} eager, {threads} threads, "
               f"{layout}", batch=1, images_per_s=round(1 / s1, 2), call_s=round(s1, 4),
               **common)
          if best is None or s1 < best[0]:
            best = (s1, threads, channels_last, predict)
      torch.set_num_threads(best[1])
      for b in batches:
        if b != 1:
          s = _median_s(lambda: best[3](crops[b]), reps(b))
          layout = "channels_last" if best[2] else "NCHW"
          _say(config=name, runtime=f"torch {torch.__version__} eager, {best[1]} threads, "
               f"{layout}", batch=b, images_per_s=round(b / s, 2), call_s=round(s, 4),
               **common)


if __name__ == "__main__":
  app.run(main)
