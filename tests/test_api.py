"""The Python API as the README documents it: the example runs, and the names are the table's."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import meso_fhir

from .helpers import ROOT

README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


@pytest.mark.server
def test_the_readme_example_runs_as_written(fhir_server: Any, tmp_path: Path) -> None:
    section = _section("Python API")
    [code] = _blocks(section, "python")
    [expected] = _blocks(section, "text")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    (tmp_path / "example.py").write_text(code)
    run = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env={**os.environ, "MESO_FHIR_SERVER": fhir_server.base_url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == expected
    assert (tmp_path / "meso-fhir-state.sqlite").exists()  # where the example said, nowhere else


def test_all_is_the_readme_table_of_public_names() -> None:
    table = _section("Python API").split("| name | what it is |", 1)[1]
    documented = set(
        re.findall(
            r"`(\w+)`",
            "\n".join(row.split("|")[1] for row in table.splitlines()[2:] if row.startswith("|")),
        )
    )
    assert set(meso_fhir.__all__) - {"__version__"} == documented


@pytest.mark.parametrize("name", sorted(set(meso_fhir.__all__) - {"__version__"}))
def test_every_public_name_resolves_to_a_documented_object(name: str) -> None:
    value = getattr(meso_fhir, name)
    assert value.__doc__, f"meso_fhir.{name} has no docstring"
    assert value.__module__.startswith("meso_fhir.")


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Sync'"):
        meso_fhir.Sync  # noqa: B018


def test_load_takes_records_in_memory_like_a_file(tmp_path: Path) -> None:
    from .helpers import example_document

    document = example_document()
    records = [
        {**record, "kind": kind}
        for kind, list_name in (
            ("patient", "patients"),
            ("screening", "screenings"),
            ("course", "courses"),
            ("session", "sessions"),
            ("observation", "observations"),
        )
        for record in document[list_name]
    ]
    # a generator: read once, kept for pass two; photo paths relative to where they are
    from_memory = meso_fhir.load(iter(records), photo_dir=ROOT / "examples")
    from_file = meso_fhir.load(ROOT / "examples" / "clinic.json")
    config = meso_fhir.ClinicConfig()
    assert [m.resources for m in meso_fhir.map_records(from_memory, config)] == [
        m.resources for m in meso_fhir.map_records(from_file, config)
    ]
    assert (
        from_memory.counts
        == from_file.counts
        == {
            "patient": 7,
            "screening": 7,
            "course": 4,
            "session": 16,
            "observation": 34,
        }
    )


def test_records_in_memory_get_errors_that_name_the_record() -> None:
    records: list[Any] = [{"kind": "patient", "id": "P1", "mrn": "M1"}, "not a record"]
    export = meso_fhir.load(records)
    assert [str(e) for e in export.errors] == [
        "patient 'P1': family: required field is missing",
        "patient 'P1': given: required field is missing",
        "patient 'P1': gender: required field is missing",
        "patient 'P1': birth_date: required field is missing",
        "record: (json): record 1: a record must be a mapping (a JSON object)",
    ]


def test_the_version_is_defined_once() -> None:
    from importlib.metadata import version

    assert meso_fhir.__version__ == version("meso-fhir")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "version = " not in pyproject.split("[project]", 1)[1].split("[", 1)[0]
