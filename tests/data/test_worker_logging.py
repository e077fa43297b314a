"""A grain worker prints none of TFDS's notes about named configurations (#26 item 7): a
training with workers printed `WARNING:absl:Using custom data configuration: …` twice, once
from each loader's worker, which has no log file (msposejax/data/__init__.py)."""

import subprocess
import sys
import textwrap


def test_a_spawned_worker_drops_tfds_notes_and_keeps_other_warnings(tmp_path):
  script = tmp_path / "worker.py"
  script.write_text(textwrap.dedent("""
      import multiprocessing

      def worker():
        from absl import logging
        import msposejax.data.synthetic_people  # as a worker unpickling its data source does
        logging.warning("Using custom data configuration: SyntheticPeopleConfig(name='x')")
        logging.warning("Variant folder /x/1.1.0 has no dataset_info.json")
        logging.warning("3 corrupt images skipped")

      if __name__ == "__main__":
        process = multiprocessing.get_context("spawn").Process(target=worker)
        process.start()
        process.join()
        assert process.exitcode == 0
        from absl import logging
        import msposejax.data
        logging.warning("Using custom data configuration: in the main process")
      """))
  run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=120)
  assert run.returncode == 0, run.stderr
  assert "3 corrupt images skipped" in run.stderr  # a worker's own warnings still show
  assert "SyntheticPeopleConfig" not in run.stderr and "Variant folder" not in run.stderr
  # The main process's notes are training/log_file.py's to route (into the log file).
  assert "in the main process" in run.stderr
