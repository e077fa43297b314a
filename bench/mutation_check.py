"""Mutation check: does the test suite fail on deliberate bugs in the method? (issue #30)

Each mutation is one exact text replacement in one file of `msposejax/`. The check copies
the repository once to a scratch folder (no .venv, .git, caches), then for each mutation:
applies it to the copy, runs pytest -x on the tests named to catch it (in the copy, whose
`msposejax` is the one imported: checked), and, when they do not fail, the whole suite
with -x; then puts the file back. A mutation whose text is no longer in its file fails the
check loudly before anything runs ("mutation X no longer applies").

Usage (minutes per bug; by hand, not in CI; docs/testing.md):
  nice python bench/mutation_check.py                # all mutations
  python bench/mutation_check.py --check             # only: does every mutation still apply?
  python bench/mutation_check.py --only flip_no_swap,best_min
Writes bench/results/mutation_check.json and .md (caught or not, by which test, seconds).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
HEAD = pathlib.Path("HEAD")  # --head: the last commit instead of the working tree
IGNORE = shutil.ignore_patterns(".venv", ".git", ".pytest_cache", "__pycache__", "build",
                                "*.egg-info", "runs", ".mutation_scratch")


@dataclasses.dataclass(frozen=True)
class Mutation:
  name: str
  area: str
  file: str       # relative to the repository
  old: str        # exact text, must occur exactly once
  new: str
  tests: tuple[str, ...]   # pytest node ids expected to catch it (run first)
  bug: str        # what the bug means, for the report


MUTATIONS = (
    # The five bugs of issue #30.
    Mutation("flip_no_swap", "evaluation", "msposejax/evaluation/flip_test.py",
             "flip_heatmaps(mirrored, flip_pairs))", "flip_heatmaps(mirrored, ()))",
             ("tests/inference/test_predictor_by_hand.py", "tests/training/test_eval_oracle.py"),
             "flip test mirrors back without swapping left and right"),
    Mutation("msr_first_stack", "model", "msposejax/models/pose_net.py",
             'name="msr")(stacks[-1], feat, train)', 'name="msr")(stacks[0], feat, train)',
             ("tests/models/test_wiring.py",),
             "MSR-net fed the first stack's heatmaps instead of the last's"),
    Mutation("eval_crop_pixels", "evaluation", "msposejax/training/evaluator.py",
             'geometry.apply_affine(m, c) for m, c in zip(batch["crop_to_stored"], coords)',
             'c for m, c in zip(batch["crop_to_stored"], coords)',
             ("tests/training/test_eval_oracle.py",),
             "evaluation reports crop pixels as image pixels"),
    Mutation("best_min", "training", "msposejax/state/retention.py",
             'best_mode="max"', 'best_mode="min"',
             ("tests/state/test_best_checkpoint.py",),
             "the best checkpoint is the lowest metric"),
    Mutation("wrong_mpii_limb", "skeleton", "msposejax/skeleton.py",
             "limbs=((0, 1), (1, 2), (2, 6),", "limbs=((0, 1), (1, 3), (2, 6),",
             ("tests/test_skeleton.py",),
             "r_knee linked to l_hip instead of r_hip"),
    # Model.
    Mutation("mss_head_other_stack_input", "model", "msposejax/models/pose_net.py",
             "x, heatmaps, feat = stack(x, train)", "x, heatmaps, feat = stack(x * 1.5, train)",
             ("tests/models/test_wiring.py",),
             "each stack's input scaled (a wrong merge into the next stack)"),
    Mutation("msr_residual_dropped", "model", "msposejax/models/pose_net.py",
             "final = last + final", "final = final",
             ("tests/models/test_wiring.py",),
             "msr_residual does not add the last stack's full-resolution maps"),
    # Codec.
    Mutation("decode_offset_sign", "codec", "msposejax/codecs/decode.py",
             "off = 0.25 * jnp.sign(hi - lo)", "off = 0.25 * jnp.sign(lo - hi)",
             ("tests/codecs/test_codecs.py",),
             "the quarter-pixel refinement moves away from the higher neighbour"),
    Mutation("sigma_first_scale", "codec", "msposejax/codecs/multiscale.py",
             "sigma_per_scale[level])", "sigma_per_scale[0])",
             ("tests/codecs/test_multiscale.py",),
             "every scale's targets use the full resolution's sigma"),
    Mutation("flip_keypoints_shift", "codec", "msposejax/codecs/flip.py",
             "np.array([width - 1.0, 0.0], np.float32)", "np.array([width, 0.0], np.float32)",
             ("tests/codecs/test_codecs.py",),
             "mirrored keypoints land one pixel off (x -> W - x)"),
    # Losses.
    Mutation("structure_alpha_ignored", "losses", "msposejax/losses/total.py",
             "structure_aware_loss(p, g, w, neighbours, alpha)",
             "structure_aware_loss(p, g, w, neighbours, 0.5)",
             ("tests/losses/test_losses.py",),
             "the config's structure-aware alpha never reaches the loss"),
    Mutation("scale_balance_inverted", "losses", "msposejax/losses/total.py",
             "w * zero[full] / zero[r]", "w * zero[r] / zero[full]",
             ("tests/losses/test_losses.py",),
             "the scale balance weights each scale by the inverse of what it should"),
    Mutation("mse_ignores_weights", "losses", "msposejax/losses/heatmap_mse.py",
             "jnp.mean(jnp.square(diff) * weight[:, None, None, :].astype(jnp.float32))",
             "jnp.mean(jnp.square(diff))",
             ("tests/losses/test_losses.py",),
             "unlabelled joints are supervised towards an empty map"),
    # Data.
    Mutation("stream_restarts", "data", "msposejax/data/stream_position.py",
             "return before + step * int(src.batch_size)", "return before + step",
             ("tests/training/test_init_and_nonfinite.py::"
              "test_stage2_initialises_from_stage1_and_reports_new_modules",),
             "a stage counts steps, not examples, of the data stream it continues"),
    Mutation("mask_not_applied", "data", "msposejax/data/transforms.py",
             "image, ops = keypoint_masking.mask_keypoints(image, xy, weights, rng, spec.mask)",
             "_, ops = keypoint_masking.mask_keypoints(image, xy, weights, rng, spec.mask)",
             ("tests/data/test_pipeline.py",),
             "keypoint masking drawn but the unmasked image trained on"),
    Mutation("augment_flip_no_swap", "data", "msposejax/data/transforms.py",
             "  if aug.flip:\n", "  if False:\n",
             ("tests/data/test_mpii.py",),
             "a horizontally flipped training crop keeps left and right labels"),
    # Evaluation.
    Mutation("head_size_normaliser", "evaluation", "msposejax/evaluation/pckh.py",
             "return 0.6 * np.linalg.norm", "return 0.5 * np.linalg.norm",
             ("tests/training/test_eval_oracle.py", "tests/evaluation/test_pckh.py"),
             "PCKh's head size is 0.5 instead of 0.6 of the head box diagonal"),
    Mutation("protocol_mean_unweighted", "evaluation", "msposejax/evaluation/mpii_protocol.py",
             '"mean": float(hits[kept].sum() / total) if total else float("nan"),',
             '"mean": float(np.mean(per_joint[kept])) if total else float("nan"),',
             ("tests/evaluation/test_mpii_protocol.py",),
             "the official Mean averages joints instead of weighting them by their counts"),
    Mutation("lsp_torso_pair", "evaluation", "msposejax/skeleton.py",
             "torso=(9, 2),", "torso=(8, 3),",
             ("tests/test_skeleton.py",),
             "LSP's PCK normalised by r_shoulder-l_hip instead of l_shoulder-r_hip"),
    # Optimizer.
    Mutation("cosine_length", "optimizer", "msposejax/training/optimizer.py",
             "cosine_decay_schedule(peak, max(total - warmup, 1))",
             "cosine_decay_schedule(peak, max(total, 1))",
             ("tests/training/test_optimizer.py",),
             "the cosine decay does not reach zero at the last step after a warm-up"),
    Mutation("rmsprop_decay", "optimizer", "msposejax/training/optimizer.py",
             "decay=0.99, eps=1e-8", "decay=0.9, eps=1e-8",
             ("tests/training/test_optimizer.py",),
             "RMSProp smoothing 0.9 instead of PyTorch's 0.99"),
    Mutation("lr_batch_scaling_inverted", "optimizer", "msposejax/training/optimizer.py",
             "peak *= config.batch_size / opt.base_batch_size",
             "peak *= opt.base_batch_size / config.batch_size",
             ("tests/training/test_optimizer.py",),
             "large-batch learning-rate scaling inverted"),
    # Predictor.
    Mutation("predictor_no_center_shift", "predictor", "msposejax/inference/predictor.py",
             "center, side = geometry.person_crop(center, scale, scale_factor, center_shift)",
             "center, side = geometry.person_crop(center, scale, scale_factor, 0.0)",
             ("tests/data/test_mpii.py",),
             "the Predictor's crop of an MPII person is not the evaluation's crop"),
    Mutation("predictor_crop_pixels", "predictor", "msposejax/inference/predictor.py",
             "geometry.apply_affine(inv, coords[i])", "(coords[i] + 0 * inv[0, 0])",
             ("tests/inference/test_predictor_by_hand.py",),
             "the Predictor returns crop pixels as image pixels"),
)


def check_applies(mutations, source: pathlib.Path = REPO) -> list[str]:
  """Problems: each mutation's text must occur exactly once in its file."""
  problems = []
  for m in mutations:
    path = source / m.file
    text = path.read_text() if path.is_file() else ""
    n = text.count(m.old)
    if n != 1:
      problems.append(f"mutation {m.name} no longer applies: {m.file} holds its text {n} times "
                      f"(expected once): {m.old!r}")
  return problems


def scratch_copy(root: pathlib.Path, source: pathlib.Path) -> pathlib.Path:
  """`source` (the working tree, or with --head its last commit) copied to root/repo, with
  root/shared → the real ../shared (the tests read real data at ../shared/data relative to
  the repository)."""
  repo = root / "repo"
  if source == HEAD:
    repo.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
  else:
    shutil.copytree(source, repo, ignore=IGNORE)
  shared = REPO.parent / "shared"
  if shared.is_dir():
    (root / "shared").symlink_to(shared)
  return repo


def environment(repo: pathlib.Path) -> dict[str, str]:
  env = dict(os.environ)
  env["PYTHONPATH"] = str(repo) + os.pathsep + env.get("PYTHONPATH", "")
  # The suite's compilation cache is keyed by the program, so the main tree's warm cache is
  # safe to share: a mutated program gets its own entries.
  env.setdefault("JAX_COMPILATION_CACHE_DIR",
                 str(REPO / ".pytest_cache" / "jax_compilation_cache"))
  return env


def check_imports_the_copy(repo: pathlib.Path, env: dict[str, str]) -> None:
  out = subprocess.run([sys.executable, "-c", "import msposejax, tests.conftest as c; "
                        "print(msposejax.__file__); print(c.__file__)"],
                       cwd=repo, env=env, capture_output=True, text=True, check=True).stdout
  paths = [pathlib.Path(p).resolve() for p in out.split()]
  if not all(p.is_relative_to(repo.resolve()) for p in paths):
    raise SystemExit(f"the scratch copy imports {paths}, not its own msposejax and tests")


def pytest(repo: pathlib.Path, env: dict[str, str], args: list[str], timeout: float,
           first_failure: bool = True) -> tuple[int, float, list[str], str]:
  """(return code, seconds, failed node ids, output tail) of one pytest run in the copy,
  stopping at the first failure (-x) unless told otherwise."""
  cmd = [sys.executable, "-m", "pytest", *(["-x"] if first_failure else []), "-q", "-rfE",
         "-p", "no:cacheprovider", *args]
  start = time.time()
  try:
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True,
                          timeout=timeout)
    rc, out = proc.returncode, proc.stdout + proc.stderr
  except subprocess.TimeoutExpired as e:
    rc, out = -1, f"timed out after {timeout} s\n{e.stdout or ''}"
  seconds = time.time() - start
  failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", out, re.M)
  return rc, seconds, failed, out[-3000:]


def run(mutations, timeout: float, source: pathlib.Path) -> list[dict]:
  results = []
  with tempfile.TemporaryDirectory(prefix="msposejax_mutation_") as tmp:
    repo = scratch_copy(pathlib.Path(tmp), source)
    env = environment(repo)
    check_imports_the_copy(repo, env)
    named = sorted({t for m in mutations for t in m.tests})
    print(f"baseline: the {len(named)} named test files/ids on the unchanged copy ...",
          flush=True)
    rc, seconds, failed, tail = pytest(repo, env, named, timeout * 2, first_failure=False)
    if rc != 0:
      raise SystemExit(f"the named tests fail without any mutation ({seconds:.0f} s): "
                       f"{failed}\n{tail}")
    print(f"baseline passed in {seconds:.0f} s", flush=True)
    for m in mutations:
      path = repo / m.file
      original = path.read_text()
      path.write_text(original.replace(m.old, m.new, 1))
      try:
        rc, seconds, failed, tail = pytest(repo, env, list(m.tests), timeout)
        phase = "named tests"
        if rc == 0:  # not caught by the named tests: the whole suite
          # In two xdist processes: the order no longer matters, the time does.
          rc2, seconds2, failed, tail = pytest(
              repo, env, ["-n", "2", "--dist", "loadgroup", "tests"], timeout * 2)
          rc, seconds, phase = rc2, seconds + seconds2, "whole suite"
      finally:
        path.write_text(original)
      caught = rc == 1
      row = {"name": m.name, "area": m.area, "file": m.file, "bug": m.bug,
             "caught": caught, "by": failed[0] if failed else None, "phase": phase,
             "seconds": round(seconds, 1), "returncode": rc}
      if not caught:
        row["output_tail"] = tail
      results.append(row)
      print(f"{m.name:30s} {'caught' if caught else 'NOT CAUGHT':10s} {seconds:6.0f} s  "
            f"{row['by']}", flush=True)
  return results


def markdown(results: list[dict], meta: dict) -> str:
  lines = [f"Mutation check, {meta['date']}, {meta['cpu']}, {meta['commit']}: "
           f"{sum(r['caught'] for r in results)} of {len(results)} caught, "
           f"{meta['seconds']:.0f} s in all.", "",
           "| mutation | area | bug | caught by | seconds |", "|---|---|---|---|---|"]
  for r in results:
    by = f"`{r['by']}`" if r["caught"] else "**not caught**"
    lines.append(f"| `{r['name']}` | {r['area']} | {r['bug']} | {by} | {r['seconds']:.0f} |")
  return "\n".join(lines) + "\n"


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--check", action="store_true", help="only check that every mutation "
                      "still applies")
  parser.add_argument("--only", default="", help="comma-separated mutation names")
  parser.add_argument("--timeout", type=float, default=900, help="seconds per pytest run")
  parser.add_argument("--head", action="store_true", help="mutate the last commit (git "
                      "archive HEAD) instead of the working tree, e.g. while others edit it")
  parser.add_argument("--source", default=str(REPO), help="the tree to copy (default: this "
                      "repository's working tree)")
  args = parser.parse_args()
  source = HEAD if args.head else pathlib.Path(args.source).resolve()
  mutations = MUTATIONS
  if args.only:
    names = set(args.only.split(","))
    unknown = names - {m.name for m in MUTATIONS}
    if unknown:
      raise SystemExit(f"unknown mutations: {sorted(unknown)}")
    mutations = tuple(m for m in MUTATIONS if m.name in names)
  if source == HEAD:
    problems = []
    for m in mutations:
      text = subprocess.run(["git", "show", f"HEAD:{m.file}"], cwd=REPO, capture_output=True,
                            text=True).stdout
      if text.count(m.old) != 1:
        problems.append(f"mutation {m.name} no longer applies: HEAD's {m.file} holds its text "
                        f"{text.count(m.old)} times (expected once): {m.old!r}")
  else:
    problems = check_applies(mutations, source)
  if problems:
    raise SystemExit("\n".join(problems))
  print(f"all {len(mutations)} mutations apply")
  if args.check:
    return
  start = time.time()
  results = run(mutations, args.timeout, source)
  cpu = next((line.split(":", 1)[1].strip() for line in
              pathlib.Path("/proc/cpuinfo").read_text().splitlines()
              if line.startswith("model name")), platform.processor())
  commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                          capture_output=True, text=True).stdout.strip()
  meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu,
          "source": "HEAD" if source == HEAD else str(source),
          "cores": os.cpu_count(), "commit": commit or "?", "seconds": time.time() - start}
  RESULTS.mkdir(parents=True, exist_ok=True)
  suffix = "" if not args.only else "_partial"
  (RESULTS / f"mutation_check{suffix}.json").write_text(
      json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
  (RESULTS / f"mutation_check{suffix}.md").write_text(markdown(results, meta))
  print(markdown(results, meta))
  if not all(r["caught"] for r in results):
    raise SystemExit("some mutations were not caught")


if __name__ == "__main__":
  main()
