"""Shared test helpers: the example export and small record factories."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "clinic.json"
EXAMPLE_LINES = ROOT / "examples" / "clinic.jsonl"


def example_document() -> dict[str, Any]:
    return orjson.loads(EXAMPLE.read_bytes())


def first(kind_list: str, **changes: Any) -> dict[str, Any]:
    """A copy of the example's first record of a list, with changes applied."""
    record = copy.deepcopy(example_document()[kind_list][0])
    record.update(changes)
    return record


def write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path
