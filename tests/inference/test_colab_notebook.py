"""docs/colab.ipynb runs top to bottom on a CPU against a checkpoint (nbclient)."""

import pytest

from tests.conftest import REPO
from tests.inference.test_predictor import SAMPLE, workdir  # noqa: F401  (fixture)

nbclient = pytest.importorskip("nbclient", reason="nbclient is in the test extra")
nbformat = pytest.importorskip("nbformat", reason="nbformat is in the test extra")
pytestmark = pytest.mark.xdist_group("notebook")


def test_notebook_executes_every_cell(workdir, monkeypatch):
  monkeypatch.setenv("MSPOSEJAX_CHECKPOINT", str(workdir))
  monkeypatch.setenv("MSPOSEJAX_IMAGE", str(SAMPLE / "052475643.jpg"))
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  nb = nbformat.read(REPO / "docs" / "colab.ipynb", as_version=4)
  nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                          resources={"metadata": {"path": str(REPO)}}).execute()
  outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
  assert not [o for o in outputs if o.output_type == "error"]
  assert any("image/png" in o.get("data", {}) for o in outputs)
  text = "".join(o.get("text", "") for o in outputs)
  assert "restored step 4" in text and "head_top" in text
