"""pytest set-up shared by the unit tests and the notebook regression tests (nbval)."""

import json
from pathlib import Path

import pytest


def unexecuted_cells(notebook: dict) -> list[int]:
    """Indices (among code cells) of non-empty code cells that were never executed.

    nbval only compares cells that carry stored outputs from an execution; a cell whose stored
    `execution_count` is null is silently never compared. A notebook committed half-executed
    would therefore pass while testing nothing, so such notebooks are rejected outright.
    Cells marked ``# NBVAL_SKIP`` are exempt: nbval does not run them at all.
    """
    bad = []
    code_cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    for i, cell in enumerate(code_cells):
        source = "".join(cell.get("source", ""))
        if not source.strip():
            continue
        if any(line.strip() == "# NBVAL_SKIP" for line in source.splitlines()):
            continue
        if "nbval-skip" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.get("execution_count") is None:
            bad.append(i)
    return bad


@pytest.fixture(scope="module")
def one_torch_thread():
    """For a test module of tiny tensors (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``):
    with one thread, torch runs them many times faster on a busy 2-core machine; restored afterwards."""
    import torch  # here, not at the top: collecting the notebooks needs no torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class UnexecutedNotebook(pytest.File):
    """A collector that fails collection, so the whole run fails, for an unexecuted notebook."""

    def collect(self):
        cells = unexecuted_cells(json.loads(Path(self.path).read_text(encoding="utf-8")))
        raise self.CollectError(
            f"{self.path}: code cells {cells} have no stored output (never executed), so nbval would "
            f"compare nothing for them. Re-execute the notebook (make notebooks) and commit it."
        )


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".ipynb" and parent.config.option.nbval:
        notebook = json.loads(file_path.read_text(encoding="utf-8"))
        if unexecuted_cells(notebook):
            return UnexecutedNotebook.from_parent(parent, path=file_path)
    return None


def pytest_collectstart(collector):
    # stderr is not compared: it carries library warnings (deprecations, thread or CUDA notices)
    # whose wording changes between versions and machines and is never part of a lesson. The
    # lessons' numbers are printed to stdout or returned as results, which are compared strictly.
    if collector.path.suffix == ".ipynb" and hasattr(collector, "skip_compare"):
        collector.skip_compare = tuple(collector.skip_compare) + ("stderr",)


# nbval waits only 5 s (hard-coded) for each output message after a cell has run. On a machine whose
# cores are busy with other work, the kernel's output thread can be starved for longer than that and
# a correct cell fails with "Timeout of 5 seconds exceeded waiting for output". The tests must not
# depend on how busy the machine is, so every notebook cell waits as long as a cell may run.
OUTPUT_TIMEOUT_SECONDS = 300


def pytest_collection_modifyitems(config, items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's IPyNbCell
            item.output_timeout = OUTPUT_TIMEOUT_SECONDS
