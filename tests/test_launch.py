"""launch/tpu.sh with a fake `gcloud` on PATH that records its arguments."""

import os
import subprocess

import pytest

from tests.conftest import REPO

ENV = {"TPU_NAME": "pose", "ZONE": "us-central2-b", "ACCELERATOR_TYPE": "v4-32",
       "WORKDIR": "gs://bucket/run", "CONFIG": "configs/mss8_msr.py",
       "REPO_URL": "https://example.invalid/msposejax.git"}


@pytest.fixture
def fake_gcloud(tmp_path):
  log = tmp_path / "calls"
  gcloud = tmp_path / "bin" / "gcloud"
  gcloud.parent.mkdir()
  gcloud.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\n')
  gcloud.chmod(0o755)
  return tmp_path / "bin", log


def run(action, path_dir, **env):
  full = {"PATH": f"{path_dir}:{os.environ['PATH']}", **ENV, **env}
  return subprocess.run(["bash", str(REPO / "launch" / "tpu.sh"), action], env=full,
                        capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("action,expected", [
    ("create", "compute tpus tpu-vm create pose --zone=us-central2-b "
               "--accelerator-type=v4-32 --version=tpu-ubuntu2204-base"),
    ("train", "--worker=all --command=cd msposejax && . .venv/bin/activate && nohup msposejax "
              "train --distributed --config configs/mss8_msr.py --workdir gs://bucket/run"),
    ("stop", "--worker=all --command=pkill -TERM -f 'msposejax train' || true"),
    ("delete", "compute tpus tpu-vm delete pose --zone=us-central2-b --quiet"),
    ("setup", "pip install -q -e '.[tpu]'"),
    ("logs", "--worker=0"),
])
def test_actions_call_gcloud(fake_gcloud, action, expected):
  bin_dir, log = fake_gcloud
  proc = run(action, bin_dir)
  assert proc.returncode == 0, proc.stderr
  assert expected in log.read_text()
  assert proc.stdout.startswith("+ gcloud")  # each command is printed


def test_dry_run_prints_but_does_not_call(fake_gcloud):
  bin_dir, log = fake_gcloud
  proc = run("create", bin_dir, DRY_RUN="1")
  assert proc.returncode == 0 and "tpu-vm create" in proc.stdout and not log.exists()


def test_missing_variables_and_local_workdir_are_refused(fake_gcloud):
  bin_dir, log = fake_gcloud
  proc = run("train", bin_dir, CONFIG="")
  assert proc.returncode == 2 and "set CONFIG" in proc.stderr
  proc = run("train", bin_dir, WORKDIR="/tmp/run")
  assert proc.returncode == 2 and "gs://" in proc.stderr
  assert not log.exists()


def test_gpu_script_dry_run():
  env = {"PATH": os.environ["PATH"], "CONFIG": "configs/quickstart.py", "WORKDIR": "runs/x",
         "DRY_RUN": "1"}
  proc = subprocess.run(["bash", str(REPO / "launch" / "gpu.sh"), "--config.batch_size=32"],
                        env=env, capture_output=True, text=True, timeout=30)
  assert proc.returncode == 0
  assert "msposejax train --config configs/quickstart.py --workdir runs/x --config.batch_size=32" \
      in proc.stdout
