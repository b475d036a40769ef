#!/usr/bin/env python3
"""Build the installable FHIR NPM package (.tgz) of the profiles from the committed JSON.

Reads ``profiles/package/`` (SUSHI's output as committed: ``<Type>-<id>.json``, ``package.json``)
and writes ``build/meso-fhir-profiles-<version>.tgz`` laid out as the FHIR package specification
says (https://hl7.org/fhir/packages.html)::

    package/package.json                  the committed package.json, byte for byte
    package/.index.json                   index-version 2 of the files beside it
    package/ImplementationGuide-<id>.json generated here: lists every resource of the package
    package/<conformance resource>.json   StructureDefinitions, ValueSets, CodeSystems (verbatim)
    package/example/.index.json
    package/example/<example>.json        every other resource (verbatim)

Deterministic: the same inputs give the same bytes (entries sorted, no directory entries, fixed
mtime 1985-10-26T08:15:00Z as npm uses, uid/gid 0 with no user/group names, mode 0644, ustar
format, gzip without file name or timestamp). Standard library only; no Node, no network.

    python3 scripts/make_fhir_package.py                  # -> build/meso-fhir-profiles-<v>.tgz
    python3 scripts/make_fhir_package.py --out X.tgz --package-dir DIR

Exit 0 and the path on stdout; exit 1 with the reasons when the input is not a consistent package
(missing package.json keys, a conformance resource without status/publisher/contact, ...).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO / "profiles" / "package"
BUILD_DIR = REPO / "build"

# npm's fixed timestamp for reproducible tarballs (its packages on the registry carry it too).
MTIME = 499162500
# Canonical resources of R4 that belong to the package proper; every other resource is an example.
CONFORMANCE = frozenset(
    {
        "CapabilityStatement",
        "CodeSystem",
        "CompartmentDefinition",
        "ConceptMap",
        "GraphDefinition",
        "ImplementationGuide",
        "MessageDefinition",
        "NamingSystem",
        "OperationDefinition",
        "SearchParameter",
        "StructureDefinition",
        "StructureMap",
        "TerminologyCapabilities",
        "ValueSet",
    }
)
# package.json keys an installer or IG tool reads.
REQUIRED_KEYS = (
    "name",
    "version",
    "canonical",
    "url",
    "fhirVersions",
    "type",
    "license",
    "author",
    "dependencies",
)
INDEX_KEYS = (
    "url",
    "version",
    "kind",
    "type",
    "supplements",
    "content",
    "valueSet",
    "derivation",
)
XHTML = "http://www.w3.org/1999/xhtml"


class PackageError(Exception):
    pass


def index_row(filename: str, r: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"filename": filename, "resourceType": r["resourceType"], "id": r["id"]}
    for k in INDEX_KEYS:
        if isinstance(r.get(k), str):
            row[k] = r[k]
    return row


def index_json(rows: list[dict[str, Any]]) -> bytes:
    rows = sorted(rows, key=lambda row: str(row["filename"]))
    return (json.dumps({"index-version": 2, "files": rows}, indent=2) + "\n").encode()


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def implementation_guide(
    meta: dict[str, Any], resources: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    """An R4 ImplementationGuide listing every resource of the package (examples marked)."""
    conformance = [r for _, r in resources if r["resourceType"] in CONFORMANCE]
    problems: list[str] = []
    for field in ("status", "publisher", "contact"):
        values = {json.dumps(r.get(field), sort_keys=True) for r in conformance}
        if len(values) != 1 or values == {"null"}:
            problems.append(f"conformance resources disagree on or lack {field}: {sorted(values)}")
    if problems:
        raise PackageError("; ".join(problems))
    first = conformance[0]
    profiles = {r["url"] for r in conformance if r["resourceType"] == "StructureDefinition"}
    canonical = meta["canonical"].rstrip("/")

    entries: list[dict[str, Any]] = []
    rows: list[str] = []
    for _, r in resources:
        ref = f"{r['resourceType']}/{r['id']}"
        entry: dict[str, Any] = {"reference": {"reference": ref}}
        # A canonical resource's title or name; an example's id (Patient.name is no string).
        name = next((r[k] for k in ("title", "name") if isinstance(r.get(k), str)), r["id"])
        entry["name"] = name
        if isinstance(r.get("description"), str):
            entry["description"] = r["description"]
        if r["resourceType"] in CONFORMANCE:
            entry["exampleBoolean"] = False
        else:
            ours = [p for p in r.get("meta", {}).get("profile", []) if p in profiles]
            if ours:
                entry["exampleCanonical"] = ours[0]
            else:
                entry["exampleBoolean"] = True
        entries.append(entry)
        rows.append(f"<li>{escape(ref)}: {escape(name)}</li>")

    ig_id = meta["name"]
    div = (
        f'<div xmlns="{XHTML}"><p>{escape(meta.get("title", ig_id))} {escape(meta["version"])}'
        f" ({escape(meta['name'])}): {len(resources)} resources.</p><ul>{''.join(rows)}</ul></div>"
    )
    return {
        "resourceType": "ImplementationGuide",
        "id": ig_id,
        "text": {"status": "generated", "div": div},
        "url": f"{canonical}/ImplementationGuide/{ig_id}",
        "version": meta["version"],
        "name": "".join(p[:1].upper() + p[1:] for p in ig_id.replace("-", ".").split(".")),
        "title": meta.get("title", ig_id),
        "status": first["status"],
        "experimental": False,
        "publisher": first["publisher"],
        "contact": first["contact"],
        "description": meta.get("description", meta.get("title", ig_id)),
        "packageId": meta["name"],
        "license": meta["license"],
        "fhirVersion": meta["fhirVersions"],
        "definition": {"resource": entries},
    }


def package_members(package_dir: Path) -> list[tuple[str, bytes]]:
    """(path in the tarball, content) of every member, sorted by path."""
    pj_path = package_dir / "package.json"
    if not pj_path.is_file():
        raise PackageError(f"{pj_path.name} missing in the package folder")
    pj_bytes = pj_path.read_bytes()
    meta = json.loads(pj_bytes)
    missing = [k for k in REQUIRED_KEYS if not meta.get(k)]
    if missing:
        raise PackageError(f"package.json lacks {', '.join(missing)}")
    if meta["dependencies"].get("hl7.fhir.r4.core") != "4.0.1" or meta["fhirVersions"] != ["4.0.1"]:
        raise PackageError("package.json must declare FHIR 4.0.1 and depend on hl7.fhir.r4.core")

    resources: list[tuple[str, dict[str, Any]]] = []
    raw: dict[str, bytes] = {}
    for f in sorted(package_dir.glob("*.json")):
        if f.name == "package.json" or f.name.startswith("."):
            continue
        data = f.read_bytes()
        r = json.loads(data)
        if not isinstance(r, dict) or not r.get("resourceType") or not r.get("id"):
            raise PackageError(f"{f.name} is not a FHIR resource with an id")
        if f.name != f"{r['resourceType']}-{r['id']}.json":
            raise PackageError(f"{f.name} should be named {r['resourceType']}-{r['id']}.json")
        if r["resourceType"] == "ImplementationGuide":
            raise PackageError(f"{f.name}: the ImplementationGuide is generated here, not input")
        resources.append((f.name, r))
        raw[f.name] = data
    if not any(r["resourceType"] in CONFORMANCE for _, r in resources):
        raise PackageError("no conformance resources in the package folder")

    ig = implementation_guide(meta, resources)
    ig_name = f"ImplementationGuide-{ig['id']}.json"
    ig_bytes = (json.dumps(ig, indent=2, ensure_ascii=False) + "\n").encode()

    members: dict[str, bytes] = {"package/package.json": pj_bytes, f"package/{ig_name}": ig_bytes}
    lib_rows = [index_row(ig_name, ig)]
    example_rows = []
    for name, r in resources:
        if r["resourceType"] in CONFORMANCE:
            members[f"package/{name}"] = raw[name]
            lib_rows.append(index_row(name, r))
        else:
            members[f"package/example/{name}"] = raw[name]
            example_rows.append(index_row(name, r))
    members["package/.index.json"] = index_json(lib_rows)
    if example_rows:
        members["package/example/.index.json"] = index_json(example_rows)
    return sorted(members.items())


def tgz_bytes(members: list[tuple[str, bytes]]) -> bytes:
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    gz_buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buf, compresslevel=9, mtime=0) as gz:
        gz.write(tar_buf.getvalue())
    return gz_buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package-dir", type=Path, default=PACKAGE_DIR)
    parser.add_argument(
        "--out", type=Path, help="default: build/meso-fhir-profiles-<version>.tgz in the repo"
    )
    args = parser.parse_args(argv)
    try:
        members = package_members(args.package_dir)
    except (PackageError, OSError, ValueError) as e:
        print(f"make_fhir_package: {e}", file=sys.stderr)
        return 1
    version = json.loads(dict(members)["package/package.json"])["version"]
    out: Path = args.out or BUILD_DIR / f"meso-fhir-profiles-{version}.tgz"
    data = tgz_bytes(members)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not (out.is_file() and out.read_bytes() == data):  # another run may be reading it
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
