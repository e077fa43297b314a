"""`predict` on a damaged checkpoint says so in one line: not buried in the tracebacks of
tensorstore's late callbacks into orbax's closed event loop (issue #27, item 4; before: 27-47
`RuntimeError: Event loop is closed` in 4 of 4 runs of the COCO CPU model)."""

import shutil
import subprocess
import sys

from tests.conftest import REPO
from tests.training.conftest import cli_env


def test_predict_on_a_damaged_step_prints_one_line(tiny_run, tmp_path):
  src, _ = tiny_run
  workdir = tmp_path / "w"
  shutil.copytree(src, workdir)
  for data in (p for p in (workdir / "checkpoints" / "4" / "state").glob("ocdbt.process_*/d/*")
               if p.is_file()):
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
  images = REPO / "tests" / "fixtures" / "mpii_sample" / "060754485.jpg"
  proc = subprocess.run([sys.executable, "-m", "msposejax.main", "predict", "--checkpoint",
                         str(workdir), "--step", "4", "--images", str(images), "--out",
                         str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True,
                        env=cli_env(1), timeout=300)
  assert proc.returncode == 1
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1, proc.stderr[-2000:]
  assert "checkpoint step 4" in lines[0] and "is damaged: state/ is unreadable" in lines[0]
