"""The clinic's side: what an export holds, and reading one.

kinds.py     the five record kinds, their order and how they refer to each other
records.py   the input model (pydantic), one model per kind; the JSON Schema
load.py      reading an export (a file, or records in memory) into checked records
"""

from .kinds import RECORD_KINDS, RecordKey, RecordKind
from .loader import Export, load
from .records import Record, json_schema

__all__ = ["RECORD_KINDS", "Export", "Record", "RecordKey", "RecordKind", "json_schema", "load"]
