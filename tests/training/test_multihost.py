"""Two local processes (2 CPU devices each) train like one process with 4 devices."""

import json
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO
from tests.training.conftest import assert_params_match, cli_env

WORKER = REPO / "tests" / "training" / "multihost_worker.py"


def free_port():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def test_two_processes_agree_with_one(tmp_path):
  port = free_port()
  env_cmd = [sys.executable, str(WORKER)]
  multi = [subprocess.Popen(env_cmd + [str(tmp_path / "multi.json"), "2", str(i), str(port)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=cli_env(devices=2))
           for i in range(2)]
  single = subprocess.run(env_cmd + [str(tmp_path / "single.json"), "1", "0", "0"], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env=cli_env(devices=4))
  assert single.returncode == 0, single.stderr[-3000:]
  for p in multi:
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out[-3000:]
  a = json.loads((tmp_path / "multi.json").read_text())
  b = json.loads((tmp_path / "single.json").read_text())
  assert (a["processes"], a["devices"]) == (2, 4) and (b["processes"], b["devices"]) == (1, 4)
  assert a["losses"] == pytest.approx(b["losses"], rel=1e-5)
  assert a["grad_norms"][0] == pytest.approx(b["grad_norms"][0], rel=1e-5)
  assert a["grad_norms"] == pytest.approx(b["grad_norms"], rel=1e-3)
  # Element by element (a sum lets errors of opposite sign cancel), against the distance the
  # parameters moved (RMSProp steps of gradients that differ by reduction order only).
  pa, pb = (np.load(tmp_path / f"{name}.json.npz") for name in ("multi", "single"))
  keys = sorted(b["param_abs_sums"])
  assert sorted(pa.files) == sorted(pb.files) == sorted(f"{w}{k}" for w in ("start", "end")
                                                        for k in keys)
  for k in keys:
    np.testing.assert_array_equal(pa[f"start{k}"], pb[f"start{k}"])
  assert_params_match([pb[f"start{k}"] for k in keys], [pa[f"end{k}"] for k in keys],
                      [pb[f"end{k}"] for k in keys], lr=1e-5, steps=3)
