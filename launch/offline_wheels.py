#!/usr/bin/env python3
"""The wheels a machine without internet still needs for msposejax, in one folder.

    python launch/offline_wheels.py --python-version 3.12 --freeze host_freeze.txt --out wheels/

FREEZE is `pip freeze` of the target (what is already installed there: jax, jaxlib with its
CUDA plugin, numpy, ...). pip resolves the project for the target's Python with every frozen
package pinned to the version the target has, and downloads the resolved packages the target
lacks, plus the project's own wheel: never a second jax, jaxlib or numpy. Then, there:

    pip install --no-index --find-links wheels/ msposejax

docs/offline.md walks the whole path. Standard library only (it drives pip), so it runs
before anything is installed.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]
PROJECT = "msposejax"


def normalize(name: str) -> str:
  """PEP 503 name: `Foo_Bar.baz` and `foo-bar-baz` are one package."""
  return re.sub(r"[-_.]+", "-", name).lower()


def read_freeze(text: str) -> tuple[dict[str, str], set[str]]:
  """({name: version} of `name==version` lines, names installed from a URL or editable).

  Raises:
    ValueError: a line that is none of pip freeze's forms.
  """
  pinned, other = {}, set()
  for number, raw in enumerate(text.splitlines(), 1):
    line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("-e") else raw.strip()
    if not line or line.startswith(("--", "-i ", "-f ")):
      continue
    if line.startswith("-e"):
      egg = re.search(r"#egg=([A-Za-z0-9_.\-]+)", line)
      if egg:
        other.add(normalize(egg.group(1)))
      continue
    m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_.\-]*)(\[[^\]]*\])?\s*(==|@)\s*(\S+)", line)
    if not m:
      raise ValueError(f"freeze line {number} {raw!r} is not 'name==version' or 'name @ url'")
    if m.group(3) == "==":
      pinned[normalize(m.group(1))] = m.group(4)
    else:
      other.add(normalize(m.group(1)))
  return pinned, other


def pip(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)


def fail(message: str, proc: subprocess.CompletedProcess | None = None) -> None:
  tail = ""
  if proc is not None:
    errors = [l for l in proc.stderr.splitlines() if l.startswith("ERROR")] or \
        proc.stderr.strip().splitlines()[-3:]
    tail = ": " + " | ".join(errors)[:600]
  sys.exit(f"offline_wheels: {message}{tail}")


def target_args(args) -> list[str]:
  out = ["--python-version", args.python_version, "--only-binary=:all:"]
  for platform in args.platform:
    out += ["--platform", platform]
  return out


def build_sdist_only(spec: str, out: pathlib.Path) -> None:
  """A wheel built here for a dependency that PyPI has only as source (tensorflow-datasets'
  `promise`); pure Python only, since a compiled one would be for this machine's Python."""
  proc = pip("wheel", "--no-deps", "--quiet", "-w", str(out), spec)
  if proc.returncode:
    fail(f"{spec} has no wheel and building one failed", proc)
  name = normalize(re.split(r"[<>=!~ ;\[]", spec, maxsplit=1)[0])
  built = [p for p in out.glob("*.whl") if normalize(p.name.split("-")[0]) == name]
  if not built or not all(p.name.endswith(("-py3-none-any.whl", "-py2.py3-none-any.whl"))
                          for p in built):
    fail(f"{spec} has no wheel on the index and is not pure Python: build it with "
         "`pip wheel` on a machine with the target's Python and put it in the folder")


def resolve(args, pinned: dict[str, str], workdir: pathlib.Path, out: pathlib.Path
            ) -> list[tuple[str, str]]:
  """[(name, version)] of everything the project needs on the target, the project excluded.

  Dependencies without a wheel are built into OUT first (then found there by --find-links).
  """
  constraints = workdir / "constraints.txt"
  constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pinned.items())
                                 if n != PROJECT))
  report = workdir / "report.json"
  extras = f"[{args.extras}]" if args.extras else ""
  built: set[str] = set()
  while True:
    # --target: pip takes another Python's tags only for a folder install (nothing is written).
    proc = pip("install", "--dry-run", "--ignore-installed", "--report", str(report),
               "--target", str(workdir / "target"), *target_args(args), "-c", str(constraints),
               "--find-links", str(out), f"{REPO}{extras}")
    if not proc.returncode:
      break
    # "X depends on promise": no candidate of `promise` under --only-binary, i.e. no wheel.
    said = proc.stdout + proc.stderr
    wanted = set(re.findall(r"depends on (\S+)", said)) - built
    if "ResolutionImpossible" not in said or not wanted:
      fail("pip cannot resolve msposejax for the target with its installed versions pinned "
           "(a package there may be too old for our bounds)", proc)
    for spec in sorted(wanted):
      build_sdist_only(spec, out)
    built |= wanted
  items = json.loads(report.read_text())["install"]
  return [(normalize(i["metadata"]["name"]), i["metadata"]["version"]) for i in items
          if normalize(i["metadata"]["name"]) != PROJECT]


def folder_bytes(folder: pathlib.Path) -> int:
  return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--python-version", required=True, help="the target's, e.g. 3.12")
  parser.add_argument("--freeze", required=True, help="`pip freeze` output of the target")
  parser.add_argument("--out", required=True, help="folder for the wheels (created)")
  parser.add_argument("--extras", default="", help="project extras to include, e.g. export")
  parser.add_argument("--platform", action="append", default=[],
                      help="the target's wheel platform tag(s), e.g. manylinux_2_28_x86_64 "
                           "(default: this machine's)")
  args = parser.parse_args(argv)
  if not re.fullmatch(r"3\.\d+", args.python_version):
    fail(f"--python-version {args.python_version!r}: expected major.minor such as 3.12")
  freeze = pathlib.Path(args.freeze)
  if not freeze.is_file():
    fail(f"--freeze {freeze}: no such file (run `pip freeze > {freeze.name}` on the target)")
  try:
    pinned, unpinned = read_freeze(freeze.read_text())
  except ValueError as e:
    fail(str(e))
  out = pathlib.Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  with tempfile.TemporaryDirectory() as tmp:
    needed = resolve(args, pinned, pathlib.Path(tmp), out)
    missing = [(n, v) for n, v in needed if n not in pinned and n not in unpinned]
    have = {normalize(p.name.split("-")[0]) for p in out.glob("*.whl")}
    for name, version in missing:
      if name in have:  # built above from its source
        continue
      proc = pip("download", "--no-deps", "--quiet", *target_args(args), "-d", str(out),
                 f"{name}=={version}")
      if proc.returncode:
        fail(f"no wheel of {name}=={version} for Python {args.python_version}", proc)
    proc = pip("wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO))
    if proc.returncode:
      fail("building the msposejax wheel failed", proc)
  present = {normalize(p.name.split("-")[0]) for p in out.glob("*.whl")}
  doubled = sorted(present & set(pinned))
  if doubled:  # left there by an earlier run for another freeze: they would be installed
    fail(f"{out} holds wheels the target already has ({', '.join(doubled)}): use an empty "
         "folder")
  print(f"{len(needed) - len(missing)} of the {len(needed)} packages msposejax needs are "
        f"installed on the target; {len(missing)} to bring:")
  for name, version in missing:
    print(f"  {name}=={version}")
  size = folder_bytes(out)
  print(f"{out}: {len(list(out.glob('*.whl')))} wheels (msposejax's own included), "
        f"{size / 2**20:.1f} MiB")
  print(f"there: pip install --no-index --find-links {out.name}/ {PROJECT}"
        + (f"[{args.extras}]" if args.extras else ""))
  return 0


if __name__ == "__main__":
  sys.exit(main())
