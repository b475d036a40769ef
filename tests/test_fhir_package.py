"""The installable FHIR package of the profiles (scripts/make_fhir_package.py): layout, metadata,
reproducibility. Python standard library only, no Java or Node. That the HL7 validator loads it
is tests/test_hl7_validator.py's."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO / "profiles" / "package"
SCRIPT = REPO / "scripts" / "make_fhir_package.py"
CONFORMANCE = {"StructureDefinition", "ValueSet", "CodeSystem", "ImplementationGuide"}


def make(out: Path, package_dir: Path = PACKAGE_DIR) -> bytes:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--package-dir", str(package_dir), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


@pytest.fixture(scope="module")
def tgz(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make(tmp_path_factory.mktemp("pkg") / "p.tgz")


@pytest.fixture(scope="module")
def members(tgz: bytes) -> dict[str, Any]:
    with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
        out: dict[str, Any] = {}
        for m in tar.getmembers():
            f = tar.extractfile(m)
            assert f is not None
            out[m.name] = json.loads(f.read())
        return out


def test_same_input_same_bytes(tgz: bytes, tmp_path: Path) -> None:
    # A copy of the folder elsewhere: no path, time or owner of the machine gets into the bytes.
    copy = tmp_path / "elsewhere" / "package"
    copy.parent.mkdir()
    subprocess.run(["cp", "-R", str(PACKAGE_DIR), str(copy)], check=True)
    for f in copy.iterdir():
        f.touch()
    assert make(tmp_path / "again.tgz", copy) == tgz


def test_tarball_is_normalised(tgz: bytes) -> None:
    assert tgz[:3] == b"\x1f\x8b\x08"
    assert tgz[3] & 0x08 == 0, "gzip header carries a file name"
    assert tgz[4:8] == b"\0\0\0\0", "gzip header carries a timestamp"
    with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
        infos = tar.getmembers()
    names = [m.name for m in infos]
    assert names == sorted(names)
    for m in infos:
        assert m.isfile(), m.name
        assert (m.uid, m.gid, m.uname, m.gname, m.mode) == (0, 0, "", "", 0o644), m.name
        assert m.mtime == 499162500, m.name
    assert len(gzip.decompress(tgz)) % 10240 == 0


def test_package_json(members: dict[str, Any]) -> None:
    pj = members["package/package.json"]
    assert pj == json.loads((PACKAGE_DIR / "package.json").read_text(encoding="utf-8"))
    assert pj["name"] == "meso-fhir.profiles"
    assert pj["fhirVersions"] == ["4.0.1"]
    assert pj["dependencies"] == {"hl7.fhir.r4.core": "4.0.1"}
    assert pj["license"] == "Apache-2.0"
    assert pj["canonical"] == pj["url"] == "https://meso-fhir.org/fhir"
    assert pj["type"] and pj["author"] and pj["version"]


def test_examples_apart_from_conformance_resources(members: dict[str, Any]) -> None:
    lib = {n: r for n, r in members.items() if n.count("/") == 1 and not n.endswith("/.index.json")}
    examples = {n: r for n, r in members.items() if n.startswith("package/example/")}
    assert set(members) == set(lib) | set(examples) | {"package/.index.json"}
    lib.pop("package/package.json")
    assert {r["resourceType"] for r in lib.values()} <= CONFORMANCE
    examples.pop("package/example/.index.json")
    assert examples and not {r["resourceType"] for r in examples.values()} & CONFORMANCE
    committed = {p.name for p in PACKAGE_DIR.glob("[A-Z]*.json")}
    shipped = {n.rsplit("/", 1)[1] for n in [*lib, *examples]}
    assert shipped == committed | {"ImplementationGuide-meso-fhir.profiles.json"}


@pytest.mark.parametrize("folder", ["package", "package/example"])
def test_index_lists_the_folder(members: dict[str, Any], folder: str) -> None:
    index = members[f"{folder}/.index.json"]
    assert index["index-version"] == 2
    here = {
        n.rsplit("/", 1)[1]: r
        for n, r in members.items()
        if n.rsplit("/", 1)[0] == folder
        and not n.rsplit("/", 1)[1].startswith(".")
        and not n.endswith("package.json")
    }
    rows = {row["filename"]: row for row in index["files"]}
    assert set(rows) == set(here)
    for name, row in rows.items():
        r = here[name]
        assert (row["resourceType"], row["id"]) == (r["resourceType"], r["id"])
        assert row.get("url") == r.get("url")


def test_conformance_resources_are_draft_with_publisher(members: dict[str, Any]) -> None:
    for name, r in members.items():
        if r.get("resourceType") in CONFORMANCE:
            assert r["status"] == "draft", name
            assert r["publisher"] == "meso-fhir", name
            assert r["contact"] == [
                {
                    "name": "meso-fhir",
                    "telecom": [{"system": "url", "value": "https://meso-fhir.org"}],
                }
            ], name


def test_implementation_guide(members: dict[str, Any]) -> None:
    pj = members["package/package.json"]
    ig = members["package/ImplementationGuide-meso-fhir.profiles.json"]
    assert ig["packageId"] == pj["name"] and ig["version"] == pj["version"]
    assert ig["fhirVersion"] == ["4.0.1"] and ig["license"] == "Apache-2.0"
    assert ig["url"] == f"{pj['canonical']}/ImplementationGuide/{ig['id']}"
    listed = {e["reference"]["reference"]: e for e in ig["definition"]["resource"]}
    profiles = {
        r["url"] for r in members.values() if r.get("resourceType") == "StructureDefinition"
    }
    for name, r in members.items():
        if (
            name.endswith(".json")
            and "resourceType" in r
            and r["resourceType"] != "ImplementationGuide"
        ):
            entry = listed.pop(f"{r['resourceType']}/{r['id']}")
            if name.startswith("package/example/"):
                assert entry.get("exampleCanonical") in profiles | {None}, name
                assert entry.get("exampleCanonical") or entry.get("exampleBoolean") is True
            else:
                assert entry["exampleBoolean"] is False, name
    assert not listed
