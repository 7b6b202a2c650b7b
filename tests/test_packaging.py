"""The project's own files describe one environment, and the nbval guard rejects unexecuted notebooks."""

import json
import re
import subprocess
import sys
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_ONLY = {"python", "pip"}


def requirement_name_and_spec(text: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", text)
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(requirement_name_and_spec(r) for r in project["dependencies"])
    wanted.update(requirement_name_and_spec(r) for r in project["optional-dependencies"]["dev"])

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                if not pip_dep.startswith("-e"):
                    listed.update([requirement_name_and_spec(pip_dep)])
        else:
            name, spec = requirement_name_and_spec(dep)
            if name not in CONDA_ONLY:
                listed[name] = spec
    assert listed == wanted
    assert "python=3.11" in env["dependencies"] and env["name"]
    assert any(isinstance(d, dict) and "-e ." in d["pip"] for d in env["dependencies"])


def test_torch_ranges_admit_the_tested_release():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = {Requirement(r).name: Requirement(r) for r in project["dependencies"]}
    assert reqs["torch"].specifier.contains("2.14.1")
    assert reqs["torchvision"].specifier.contains("0.29.1")


def write_notebook(path: Path, execution_count):
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": execution_count,
                "metadata": {},
                "outputs": [],
                "source": ["x = 1"],
            }
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))


def test_guard_lists_unexecuted_cells(tmp_path):
    sys.path.insert(0, str(ROOT))
    try:
        from conftest import unexecuted_cells
    finally:
        sys.path.remove(str(ROOT))
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": "# title"},
            {"cell_type": "code", "execution_count": 1, "source": "a = 1", "outputs": []},
            {"cell_type": "code", "execution_count": None, "source": "b = 2", "outputs": []},
            {"cell_type": "code", "execution_count": None, "source": "# NBVAL_SKIP\nslow()", "outputs": []},
            {"cell_type": "code", "execution_count": None, "source": "  ", "outputs": []},
        ]
    }
    assert unexecuted_cells(nb) == [1]


def test_pytest_run_fails_on_an_unexecuted_notebook(tmp_path):
    """End to end: the project's conftest makes a pytest --nbval run fail before any kernel starts."""
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    write_notebook(tmp_path / "bad.ipynb", execution_count=None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    assert "have no stored output (never executed)" in run.stdout + run.stderr


def test_pre_commit_runs_the_ruff_release_the_dev_extra_installs():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ruff = next(Requirement(r) for r in project["optional-dependencies"]["dev"] if Requirement(r).name == "ruff")
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (repo,) = [r for r in config["repos"] if r["repo"].endswith("/ruff-pre-commit")]
    assert ruff.specifier.contains(repo["rev"].removeprefix("v")), (repo["rev"], str(ruff.specifier))
    assert {h["id"] for h in repo["hooks"]} == {"ruff-check", "ruff-format"}
    # stored outputs are what nbval compares: no hook may strip them
    assert not any("nbstripout" in r["repo"] for r in config["repos"])


def test_nbval_cells_wait_for_output_on_a_busy_machine():
    """conftest raises nbval's 5 s output wait (the cause of a failure on a loaded machine)."""
    import conftest

    class Cell:
        output_timeout = 5

    cell = Cell()
    conftest.pytest_collection_modifyitems(None, [cell, object()])
    assert cell.output_timeout == conftest.OUTPUT_TIMEOUT_SECONDS >= 60
