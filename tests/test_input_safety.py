"""Safe to run unattended: no input crashes the loader, loose types and impossible values are
refused with the field named, and conflicts between records do not depend on their order."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import meso_fhir
from meso_fhir.cli import main
from meso_fhir.errors import ExitCode, InputError
from meso_fhir.model import RECORD_KINDS, json_schema, load
from meso_fhir.model import records as model
from meso_fhir.model.kinds import LIST_NAME

from .helpers import EXAMPLE, EXAMPLE_LINES, ROOT, example_document, write_lines


def load_example(source: Any, **options: Any) -> meso_fhir.Export:
    """``load``, finding the example's photo files wherever the records are (in memory too)."""
    return load(source, photo_dir=EXAMPLE.parent, **options)


BOM = b"\xef\xbb\xbf"
KIND_OF_LIST = {name: kind for kind, name in LIST_NAME.items()}


def _line_records() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in EXAMPLE_LINES.read_bytes().splitlines() if line]


def _errors(source: Any) -> list[dict[str, str | None]]:
    return [e.as_dict() for e in load_example(source).errors]


def _kept(source: Any) -> list[tuple[str, str]]:
    return [(r.kind, r.id) for r in load_example(source).records()]


# What identifies a patient in the example: no error message may contain any of it.
IDENTIFYING = sorted(
    {
        value
        for patient in example_document()["patients"]
        for name in ("family", "mrn", "birth_date", "phone", "email")
        for value in [patient.get(name)]
        if isinstance(value, str)
    }
    | {given for patient in example_document()["patients"] for given in patient["given"]}
)


def _check_error(error: InputError) -> None:
    """Every error names a kind and a field, is printable and can be written anywhere."""
    assert error.kind in (*RECORD_KINDS, "record"), error
    assert isinstance(error.field, str) and error.field, error
    text = str(error)
    assert text.isprintable(), text
    text.encode("utf-8")  # no lone surrogate: the ledger and the report can store it
    orjson.dumps(error.as_dict())
    assert not [value for value in IDENTIFYING if value in error.message], text


# --- A. no input crashes the loader -------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": ["patient"], "id": "X"},
        {"kind": {"patient": 1}, "id": "X"},
        {"kind": 7, "id": "X"},
        {"kind": None},
        {"kind": "patient", "id": ["P001"]},
        {"kind": "patient", "id": {"a": 1}},
        {"kind": "patient", "id": 12},
        {"kind": "session", "id": "S", "injections": [{"id": ["I"]}, 5, None]},
        {"kind": "patient", "id": "P9", "mrn": ["MRN"]},
    ],
)
def test_a_malformed_kind_or_id_is_a_named_error_in_every_form(
    tmp_path: Path, bad: dict[str, Any]
) -> None:
    good = _line_records()
    lines = write_lines(tmp_path / "clinic.jsonl", [*good, bad])
    memory = [*good, bad]
    document = example_document()
    list_name = "sessions" if bad.get("kind") == "session" else "patients"
    document[list_name].append(bad)
    doc_path = tmp_path / "clinic.json"
    doc_path.write_bytes(orjson.dumps(document))
    for source in (lines, memory, doc_path):
        export = load_example(source)
        assert export.errors, source
        for error in export.errors:
            _check_error(error)
        # the one bad record costs nothing else
        assert len(_kept(source)) == 68, source


def test_a_a_deeply_nested_value_in_memory_is_named_without_walking_it() -> None:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    errors = load_example([{"kind": deep, "id": "X"}, {"kind": "patient", "id": "P1", "mrn": deep}])
    assert [(e.kind, e.source_id, e.field) for e in errors.errors][:2] == [
        ("record", "X", "kind"),
        ("patient", "P1", "mrn"),
    ]
    for error in errors.errors:
        _check_error(error)


def test_a_the_first_records_kind_as_a_list_is_named(tmp_path: Path) -> None:
    path = tmp_path / "clinic.jsonl"
    path.write_bytes(b'{"kind": ["patient"], "id": "X"}\n')
    assert _errors(path) == [
        {
            "kind": "record",
            "source_id": "X",
            "field": "kind",
            "message": "line 1: unknown kind ['patient']; expected one of: patient, screening,"
            " course, session, observation",
        }
    ]


def test_a_a_record_in_the_wrong_list_is_refused_with_its_kind(tmp_path: Path) -> None:
    document = example_document()
    document["patients"][0]["kind"] = "screening"
    path = tmp_path / "clinic.json"
    path.write_bytes(orjson.dumps(document))
    errors = _errors(path)
    assert errors[0] == {
        "kind": "patient",
        "source_id": "P001",
        "field": "kind",
        "message": "patients[0]: a record in patients has kind 'patient', not 'screening'",
    }
    assert errors[1]["message"] == "patient 'P001' has errors, so this record cannot be sent either"


@pytest.mark.parametrize("form", ["json", "jsonl"])
def test_a_a_utf8_byte_order_mark_is_accepted(tmp_path: Path, form: str) -> None:
    example = EXAMPLE if form == "json" else EXAMPLE_LINES
    path = tmp_path / f"clinic.{form}"
    path.write_bytes(BOM + example.read_bytes())
    with_bom, without = load_example(path), load_example(example)
    assert with_bom.errors == []
    assert [r.model_dump() for r in with_bom.records()] == [
        r.model_dump() for r in without.records()
    ]
    assert with_bom.digests() == without.digests()  # sync sees the same records


def test_a_numbers_orjson_cannot_read_cost_only_their_field(tmp_path: Path) -> None:
    records = _line_records()
    text = [json.dumps(r) for r in records]
    screening = next(i for i, r in enumerate(records) if r["kind"] == "screening")
    text[screening] = text[screening].replace('"value": 68', '"value": 1e400', 1)
    text[0] = text[0].replace('"P001"', '"P001", "huge": ' + "9" * 400, 1)
    path = tmp_path / "clinic.jsonl"
    path.write_text("\n".join(text) + "\n")
    errors = _errors(path)
    assert errors[:2] == [
        {
            "kind": "patient",
            "source_id": "P001",
            "field": "huge",
            "message": "Extra inputs are not permitted",
        },
        {
            "kind": "screening",
            "source_id": records[screening]["id"],
            "field": "vital_signs.heart_rate.value",
            "message": "Input should be a finite number",
        },
    ]


def test_a_a_file_that_cannot_be_read_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a file"):
        load_example(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        load_example(str(tmp_path / "a\0b.json"))
    nan = tmp_path / "nan.json"
    nan.write_text('{"patients": [{"id": NaN}]}')
    with pytest.raises(InputError, match="not valid JSON"):
        load_example(nan)


# Any JSON value: what a mutation puts in place of another.
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**30, 10**400, 0, 1, -1]),
    st.floats(),  # NaN and infinities too: in a file they are not JSON at all
    st.text(max_size=12),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Zs", "Ll"]), max_size=6),
    st.sampled_from(
        ["", " ", "\x00", "a\x07b", "\ud800", "yes", "false", "0", "1700000000", "2024-13-01"]
    ),
    st.sampled_from(["patient", "screening", "course", "session", "observation", "P001"]),
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.one_of(st.text(max_size=6), st.sampled_from(["id", "kind", "value", "unit"])),
            children,
            max_size=3,
        ),
    ),
    max_leaves=6,
)
KEYS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["id", "kind", "withdrawn", "mrn", "value", "unit", "type", "patient_id"]),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


@st.composite
def mutated(draw: st.DrawFn, tree: Any) -> Any:
    """``tree`` changed in one to three places: a value replaced by any JSON value, a key or
    an element deleted, a key added, or a whole record replaced (by any value or another
    record)."""
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(tree))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "add", "record"]))
        if not path:
            if action == "replace":
                tree = draw(JSON_VALUES)
            continue
        parent, last = _at(tree, path[:-1]), path[-1]
        if action == "replace":
            parent[last] = draw(JSON_VALUES)
        elif action == "delete":
            del parent[last]
        elif action == "add":
            target = parent[last]
            if isinstance(target, dict):
                target[draw(KEYS)] = draw(JSON_VALUES)
            elif isinstance(target, list):
                target.insert(draw(st.integers(0, len(target))), draw(JSON_VALUES))
        else:
            records = [p for p in paths if _is_record_path(tree, p)]
            if records:
                where = draw(st.sampled_from(records))
                others = [_at(tree, p) for p in records]
                replacement = draw(st.one_of(JSON_VALUES, st.sampled_from(others)))
                _at(tree, where[:-1])[where[-1]] = copy.deepcopy(replacement)
    return tree


def _is_record_path(tree: Any, path: tuple[Any, ...]) -> bool:
    if isinstance(tree, list):
        return len(path) == 1
    return len(path) == 2 and path[0] in KIND_OF_LIST


def _load_and_map(source: Any, file: bool) -> list[InputError]:
    """load + every record + map_records: only an unreadable file may raise (InputError)."""
    try:
        export = load_example(source)
    except InputError as exc:
        assert file, f"records in memory raised {exc}"
        assert exc.kind == "file" and exc.field
        return []
    for _record in export.records():
        pass
    summary = meso_fhir.MapSummary()
    for _mapped in meso_fhir.map_records(export, meso_fhir.ClinicConfig(), summary):
        pass
    for error in summary.errors:
        _check_error(error)
        assert error.field != "(mapping)", f"the input checks let through: {error}"
    return summary.errors


def _dump(value: Any) -> bytes:
    # The standard library writes what orjson cannot (integers beyond 64 bits, lone
    # surrogates as escapes, NaN as a token that is not JSON).
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


MUTATION_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@MUTATION_SETTINGS
@given(document=mutated(example_document()), bom=st.booleans())
def test_a_any_mutation_of_the_document_form_gives_named_errors(
    tmp_path: Path, document: Any, bom: bool
) -> None:
    path = tmp_path / "clinic.json"
    path.write_bytes((BOM if bom else b"") + _dump(document))
    _load_and_map(path, file=True)


@MUTATION_SETTINGS
@given(lines=mutated(_line_records()), bom=st.booleans())
def test_a_any_mutation_of_the_lines_form_gives_named_errors(
    tmp_path: Path, lines: Any, bom: bool
) -> None:
    path = tmp_path / "clinic.jsonl"
    items = lines if isinstance(lines, list) else [lines]
    path.write_bytes((BOM if bom else b"") + b"\n".join(_dump(item) for item in items) + b"\n")
    _load_and_map(path, file=True)


@MUTATION_SETTINGS
@given(records=mutated(_line_records()))
def test_a_any_mutation_of_records_in_memory_gives_named_errors(records: Any) -> None:
    _load_and_map(records if isinstance(records, list) else [records], file=False)


def _cli_map(tmp_path: Path, export: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["map", str(export), "--out", str(tmp_path / "b.json")])
    return result.exit_code, result.output


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=mutated(_line_records()), document=mutated(example_document()))
def test_a_the_cli_maps_any_mutation_without_a_traceback(
    tmp_path: Path, lines: Any, document: Any
) -> None:
    lines_path = tmp_path / "clinic.jsonl"
    items = lines if isinstance(lines, list) else [lines]
    lines_path.write_bytes(b"\n".join(_dump(item) for item in items) + b"\n")
    doc_path = tmp_path / "clinic.json"
    doc_path.write_bytes(_dump(document))
    for path in (lines_path, doc_path):
        try:
            expected = {ExitCode.INVALID_INPUT if load_example(path).errors else ExitCode.OK}
        except InputError:
            expected = {ExitCode.UNREADABLE_INPUT}
        code, output = _cli_map(tmp_path, path)
        assert code in expected, output
        assert "Traceback" not in output


BROKEN_FILES = {
    "kind-list.jsonl": b'{"kind": ["patient"], "id": "X"}\n',
    "id-dict.jsonl": b'{"kind": "patient", "id": {"a": 1}}\n',
    "huge-number.jsonl": b'{"kind": "patient", "id": "P1", "mrn": 1' + b"0" * 400 + b"}\n",
    "nan.jsonl": b'{"kind": "patient", "id": NaN}\n',
    "surrogate.jsonl": b'{"kind": "patient", "id": "P\\ud800", "\\udfff": 1}\n',
    "control.jsonl": b'{"kind": "patient", "id": "P\\u0007", "family": "\\u0000"}\n',
    "not-an-object.jsonl": BOM + b"[1, 2]\n5\n",
    "kind-list.json": b'{"patients": [{"kind": ["patient"], "id": "X"}]}',
    "records-not-objects.json": BOM + b'{"patients": [1, "x", null, [{}]]}',
    "patients-not-a-list.json": b'{"patients": {"id": "P1"}}',
    "not-json.json": b"{",
    "empty.json": b"",
}


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
@pytest.mark.parametrize("command", ["map", "sync"])
def test_a_the_cli_exits_3_or_7_on_broken_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, command: str
) -> None:
    path = tmp_path / name
    path.write_bytes(BROKEN_FILES[name])
    monkeypatch.chdir(tmp_path)  # sync without a server writes its outbox here
    args = ["--out", "b.json"] if command == "map" else ["--state", "ledger.sqlite"]
    result = CliRunner().invoke(main, [command, str(path), *args])
    assert result.exit_code in (ExitCode.INVALID_INPUT, ExitCode.UNREADABLE_INPUT), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --- B. strict types, plausible values, values a FHIR server refuses ----------------------------


def _with(list_name: str, index: int, path: tuple[Any, ...], value: Any) -> list[dict[str, Any]]:
    """The example's records in memory, one value set (``path`` inside that record)."""
    document = example_document()
    record = document[list_name][index]
    *parents, last = path
    target = record
    for part in parents:
        target = target[part]
    target[last] = value
    return [
        {"kind": KIND_OF_LIST[name], **r} for name in LIST_NAME.values() for r in document[name]
    ]


def _first_error(list_name: str, index: int, path: tuple[Any, ...], value: Any) -> Any:
    errors = load_example(_with(list_name, index, path, value)).errors
    assert errors, (path, value)
    return errors[0].as_dict()


ISO_DATE = model.FORM_ERRORS["iso_date"]
ISO_DATETIME = model.FORM_ERRORS["iso_datetime"]


@pytest.mark.parametrize(
    ("list_name", "path", "value", "field", "message"),
    [
        ("patients", ("withdrawn",), "yes", "withdrawn", "Input should be a valid boolean"),
        ("patients", ("withdrawn",), 1, "withdrawn", "Input should be a valid boolean"),
        ("patients", ("withdrawn",), "false", "withdrawn", "Input should be a valid boolean"),
        ("patients", ("birth_date",), 0, "birth_date", ISO_DATE),
        ("patients", ("birth_date",), "0", "birth_date", ISO_DATE),
        ("patients", ("birth_date",), 1700000000, "birth_date", ISO_DATE),
        ("patients", ("birth_date",), "19780412", "birth_date", ISO_DATE),
        ("patients", ("birth_date",), "1978-04-12T00:00:00", "birth_date", ISO_DATE),
        ("courses", ("planned_sessions",), "4", "planned_sessions", "Input should be a valid integer"),
        ("courses", ("planned_sessions",), 4.0, "planned_sessions", "Input should be a valid integer"),
        ("courses", ("planned_sessions",), True, "planned_sessions", "Input should be a valid integer"),
        ("courses", ("start_date",), 1700000000, "start_date", ISO_DATE),
        (
            "sessions", ("injections", 0, "volume", "value"), "0.5",
            "injections[0].volume.value", "Input should be a valid number",
        ),
        (
            "sessions", ("injections", 0, "volume", "value"), True,
            "injections[0].volume.value", "Input should be a valid number",
        ),
        ("sessions", ("performed_at",), 1700000000, "performed_at", ISO_DATETIME),
        ("sessions", ("performed_at",), "1700000000", "performed_at", ISO_DATETIME),
        ("sessions", ("performed_at",), "2025-02-10 10:00:00", "performed_at", ISO_DATETIME),
        ("sessions", ("performed_at",), "2025-02-10", "performed_at", ISO_DATETIME),
        (
            "screenings", ("contraindications", "pregnancy"), "false",
            "contraindications.pregnancy", "Input should be a valid boolean",
        ),
        (
            "screenings", ("vital_signs", "heart_rate", "value"), "68",
            "vital_signs.heart_rate.value", "Input should be a valid number",
        ),
    ],
)  # fmt: skip
def test_b_json_types_are_strict(
    list_name: str, path: tuple[Any, ...], value: Any, field: str, message: str
) -> None:
    index = 0
    if list_name == "screenings" and path[0] == "contraindications":
        index = next(
            i
            for i, s in enumerate(example_document()["screenings"])
            if "pregnancy" in s["contraindications"]
        )
    error = _first_error(list_name, index, path, value)
    assert (error["field"], error["message"]) == (field, message)


def test_b_iso_strings_are_still_read() -> None:
    for value in ("2025-02-10T10:00:00Z", "2025-02-10T10:00", "2025-02-10T10:00:00.25-03:00"):
        assert load_example(_with("sessions", 0, ("performed_at",), value)).errors == [], value
    screening = _with("screenings", 0, ("screened_at",), "2025-02-03")
    export = load_example(screening)
    assert export.errors == []
    # a date stays a date: it does not become a midnight nobody recorded
    assert next(r for r in export.records() if r.kind == "screening").screened_at == dt.date(
        2025, 2, 3
    )


def test_b_the_schema_says_types_are_strict() -> None:
    schema = json_schema()
    assert "Types are strict" in schema["description"]
    defs = schema["$defs"]
    assert defs["Patient"]["properties"]["birth_date"] == {
        "format": "date",
        "pattern": model.DATE_PATTERN,
        "title": "Birth Date",
        "type": "string",
    }
    assert defs["Patient"]["properties"]["withdrawn"]["type"] == "boolean"
    assert defs["VolumeML"]["properties"]["value"] == {
        "maximum": 20.0,
        "minimum": 0.01,
        "title": "Value",
        "type": "number",
    }
    assert defs["Session"]["properties"]["performed_at"]["pattern"] == model.DATETIME_PATTERN
    # every free string refuses control characters
    for name, where, string in _strings(schema):
        if not ({"enum", "const", "format"} & set(string)):
            assert string.get("pattern") in model.PATTERN_MESSAGES, (name, where)


def _strings(node: Any, where: str = "") -> Iterator[tuple[str, str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "string":
            yield where.rsplit(".", 1)[-1], where, node
        for key, value in node.items():
            yield from _strings(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{where}[{i}]")


# (record list, path to the quantity, PLAUSIBLE key)
QUANTITIES = [
    ("screenings", ("vital_signs", "body_weight"), "body_weight"),
    ("screenings", ("vital_signs", "body_height"), "body_height"),
    ("screenings", ("vital_signs", "body_temperature"), "body_temperature"),
    ("screenings", ("vital_signs", "blood_pressure", "systolic"), "systolic"),
    ("screenings", ("vital_signs", "blood_pressure", "diastolic"), "diastolic"),
    ("screenings", ("vital_signs", "heart_rate"), "heart_rate"),
    ("screenings", ("vital_signs", "bmi"), "bmi"),
    ("sessions", ("injections", 0, "volume"), "volume"),
    ("sessions", ("injections", 0, "depth"), "depth"),
    ("observations", ("finding", "value"), "circumference"),
]
# The unit of each bound, from the quantity types that use it.
UNITS = {quantity.PLAUSIBLE: quantity.UNIT for quantity in model._Quantity.__subclasses__()}
# Where pydantic names a field of a tagged finding: with its tag.
TAGGED = {("finding", "value"): "finding.measurement.value"}


def test_b_every_bound_is_tested() -> None:
    assert {key for _, _, key in QUANTITIES} == set(model.PLAUSIBLE)


def _quantity_record(list_name: str, path: tuple[Any, ...]) -> int:
    """The index of the first example record that has the quantity."""
    for i, record in enumerate(example_document()[list_name]):
        try:
            _at(record, path)
        except (KeyError, IndexError, TypeError):
            continue
        return i
    raise AssertionError(path)


def _set(
    records: list[dict[str, Any]], key: tuple[str, str], path: tuple[Any, ...], value: Any
) -> None:
    record = next(r for r in records if (r["kind"], r["id"]) == key)
    _at(record, path[:-1])[path[-1]] = value


@pytest.mark.parametrize(("list_name", "path", "key"), QUANTITIES)
def test_b_implausible_values_are_refused_with_the_field_named(
    list_name: str, path: tuple[Any, ...], key: str
) -> None:
    low, high = model.PLAUSIBLE[key]
    index = _quantity_record(list_name, path)
    unit = UNITS[key]
    named = TAGGED.get(path) or re.sub(r"\.(\d+)\.", r"[\1].", ".".join(map(str, path)))
    field = f"{named}.value"
    for value in (low - 0.001, high + 0.001, -1, 0, 1e9):
        error = _first_error(list_name, index, (*path, "value"), value)
        assert (error["field"], error["message"]) == (
            field,
            f"{value:g} {unit} is outside {low:g}–{high:g} {unit}",
        )
    record = (KIND_OF_LIST[list_name], example_document()[list_name][index]["id"])
    pressure = ("vital_signs", "blood_pressure")
    for value in (low, high):
        records = _with(list_name, index, (*path, "value"), value)
        if key == "systolic":  # the diastolic stays below it
            _set(records, record, (*pressure, "diastolic", "value"), 20)
        if key == "diastolic":
            _set(records, record, (*pressure, "systolic", "value"), 300)
        assert load_example(records).errors == [], (key, value)


def test_b_the_diastolic_must_be_below_the_systolic() -> None:
    path = ("vital_signs", "blood_pressure", "diastolic", "value")
    error = _first_error("screenings", 0, path, 122)
    assert error == {
        "kind": "screening",
        "source_id": "S001",
        "field": "vital_signs.blood_pressure",
        "message": "diastolic 122 mm[Hg] is not below systolic 122 mm[Hg]",
    }


def test_b_the_readme_shows_the_bounds() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The input format", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.MULTILINE))
    for key, (low, high) in model.PLAUSIBLE.items():
        assert rows[key].strip() == f"{low:g}–{high:g} {UNITS[key]}", key


def test_b_birth_dates_before_1900_are_refused_without_showing_them() -> None:
    errors = load_example(_with("patients", 0, ("birth_date",), "1899-12-30")).errors
    assert errors[0].as_dict() == {
        "kind": "patient",
        "source_id": "P001",
        "field": "birth_date",
        "message": "before 1900-01-01: not a date a clinic records",
    }
    assert all("1899-12-30" not in str(e) for e in errors)


def test_b_a_birth_date_after_the_patients_own_records_is_refused() -> None:
    # P001's earliest record is its screening S001, on 2025-02-03 (record 7 in memory)
    records = _with("patients", 0, ("birth_date",), "2025-02-04")
    errors = load_example(records).errors
    assert errors[0].as_dict() == {
        "kind": "patient",
        "source_id": "P001",
        "field": "birth_date",
        "message": "after the screened_at of screening 'S001' (record 7), a record of this patient",
    }
    assert errors[1].message == "patient 'P001' has errors, so this record cannot be sent either"
    assert all("2025-02-04" not in str(e) for e in errors)
    assert load_example(_with("patients", 0, ("birth_date",), "2025-02-03")).errors == []


def test_b_given_today_a_birth_date_in_the_future_is_refused() -> None:
    newborn = {**_line_records()[0], "id": "P100", "mrn": "MRN-1", "birth_date": "2030-01-01"}
    records = [*_line_records(), newborn]
    assert (
        load_example(records).errors == []
    )  # no record of P100 to compare with: only today can tell
    errors = load_example(records, today=dt.date(2026, 1, 1)).errors
    assert [e.as_dict() for e in errors] == [
        {
            "kind": "patient",
            "source_id": "P100",
            "field": "birth_date",
            "message": "after today (2026-01-01)",
        }
    ]
    assert load_example(records, today=dt.date(2030, 1, 1)).errors == []


@pytest.mark.parametrize(
    ("list_name", "path", "value", "field", "message"),
    [
        ("patients", ("family",), "Lau\x00rent", "family", model.PATTERN_MESSAGES[model.LINE_PATTERN]),
        ("patients", ("family",), "Lau\trent", "family", model.PATTERN_MESSAGES[model.LINE_PATTERN]),
        ("patients", ("given", 0), "A\x07", "given[0]", model.PATTERN_MESSAGES[model.LINE_PATTERN]),
        ("patients", ("mrn",), "MRN\x1b[2J", "mrn", model.PATTERN_MESSAGES[model.LINE_PATTERN]),
        ("patients", ("phone",), "+33\x0b6", "phone", model.PATTERN_MESSAGES[model.LINE_PATTERN]),
        (
            "patients", ("id",), "P0\x0001", "id",
            "record 0: " + model.PATTERN_MESSAGES[model.SOURCE_ID_PATTERN],
        ),
        (
            "screenings", ("eligibility_note",), "ok\x07", "eligibility_note",
            model.PATTERN_MESSAGES[model.NOTE_PATTERN],
        ),
        (
            "sessions", ("injections", 0, "product", "name"), "\x00", "injections[0].product.name",
            model.PATTERN_MESSAGES[model.LINE_PATTERN],
        ),
        (
            "sessions", ("injections", 0, "product", "name"), " ", "injections[0].product.name",
            "String should have at least 1 character",
        ),
        (
            "sessions", ("performed_at",), "2025-02-10T10:00:00+14:30", "performed_at",
            "UTC offset +14:30 is beyond ±14:00",
        ),
        (
            "sessions", ("performed_at",), "2025-02-10T10:00:00-15:00", "performed_at",
            "UTC offset -15:00 is beyond ±14:00",
        ),
        (
            "observations", ("observed_at",), "2025-02-10T10:00:00+23:59", "observed_at",
            "UTC offset +23:59 is beyond ±14:00",
        ),
    ],
)  # fmt: skip
def test_b_values_a_fhir_server_refuses_are_refused_at_input(
    list_name: str, path: tuple[Any, ...], value: Any, field: str, message: str
) -> None:
    errors = load_example(_with(list_name, 0, path, value)).errors
    assert (errors[0].field, errors[0].message) == (field, message)
    for error in errors:
        _check_error(error)
        assert not value.strip() or value not in error.message


def test_b_notes_keep_tabs_and_line_breaks_and_offsets_up_to_14_hours() -> None:
    assert load_example(_with("screenings", 0, ("eligibility_note",), "a\tb\r\nc")).errors == []
    for offset in ("+14:00", "-14:00", "-12:00", "+05:45"):
        value = f"2025-02-10T10:00:00{offset}"
        assert load_example(_with("sessions", 0, ("performed_at",), value)).errors == [], offset


def test_b_a_lone_surrogate_in_memory_is_refused() -> None:
    errors = load_example(_with("patients", 0, ("family",), "La\ud800")).errors
    assert errors[0].field == "family"
    for error in errors:
        _check_error(error)


# --- C. conflicts do not depend on the order of the records -------------------------------------


def _normalised(errors: list[InputError]) -> set[tuple[str, str | None, str, str]]:
    """The errors without the places they mention, which move when the records do."""
    return {
        (e.kind, e.source_id, e.field, re.sub(r"(line|record) \d+|\w+\[\d+\]", "<at>", e.message))
        for e in errors
    }


def _both_orders(records: list[dict[str, Any]]) -> tuple[Any, Any]:
    return load_example(records), load_example(list(reversed(records)))


def test_c_two_records_with_one_kind_and_id_are_both_refused_in_any_order(
    tmp_path: Path,
) -> None:
    records = _line_records()
    second = {**records[1], "mrn": "MRN-99999", "family": "Other"}
    records.append(second)
    path = write_lines(tmp_path / "clinic.jsonl", records)
    assert _errors(path)[:2] == [
        {
            "kind": "patient",
            "source_id": "P002",
            "field": "id",
            "message": "line 2: the same id as the patient at line 69; neither is sent",
        },
        {
            "kind": "patient",
            "source_id": "P002",
            "field": "id",
            "message": "line 69: the same id as the patient at line 2; neither is sent",
        },
    ]
    forward, backward = _both_orders(records)
    assert _normalised(forward.errors) == _normalised(backward.errors)
    dependants = {(e.kind, e.source_id) for e in forward.errors if e.field == "patient_id"}
    assert ("screening", "S002") in dependants
    assert all(
        e.message == "patient 'P002' has errors, so this record cannot be sent either"
        for e in forward.errors
        if e.field == "patient_id"
    )
    assert {k for k in _kept(records)} == {k for k in _kept(list(reversed(records)))}
    assert ("patient", "P002") not in _kept(records)


def test_c_an_invalid_and_a_valid_record_with_one_id_are_both_refused() -> None:
    records = _line_records()
    records.append({**records[1], "birth_date": "1990-02-30"})
    forward, backward = _both_orders(records)
    assert _normalised(forward.errors) == _normalised(backward.errors)
    assert ("patient", "P002") not in _kept(records)
    assert ("patient", "P002") not in _kept(list(reversed(records)))


def test_c_two_patients_with_one_mrn_are_both_refused_in_any_order(tmp_path: Path) -> None:
    records = _line_records()
    records[1] = {**records[1], "mrn": records[0]["mrn"]}
    path = write_lines(tmp_path / "clinic.jsonl", records)
    assert _errors(path)[:2] == [
        {
            "kind": "patient",
            "source_id": "P001",
            "field": "mrn",
            "message": "MRN also used by patient 'P002' (line 2); none of them is sent",
        },
        {
            "kind": "patient",
            "source_id": "P002",
            "field": "mrn",
            "message": "MRN also used by patient 'P001' (line 1); none of them is sent",
        },
    ]
    forward, backward = _both_orders(records)
    assert _normalised(forward.errors) == _normalised(backward.errors)
    kept = set(_kept(records))
    assert kept == set(_kept(list(reversed(records))))
    assert not {("patient", "P001"), ("patient", "P002"), ("screening", "S001")} & kept
    assert records[0]["mrn"] not in str(forward.errors)


def test_c_three_patients_with_one_mrn_each_name_the_other_two() -> None:
    records = _line_records()
    for i in (1, 2):
        records[i] = {**records[i], "mrn": records[0]["mrn"]}
    errors = [e for e in load_example(records).errors if e.field == "mrn"]
    assert [(e.source_id, e.message) for e in errors] == [
        ("P001", "MRN also used by patient 'P002' (record 1), patient 'P003' (record 2);"
                 " none of them is sent"),
        ("P002", "MRN also used by patient 'P001' (record 0), patient 'P003' (record 2);"
                 " none of them is sent"),
        ("P003", "MRN also used by patient 'P001' (record 0), patient 'P002' (record 1);"
                 " none of them is sent"),
    ]  # fmt: skip


def test_c_one_injection_id_in_two_sessions_refuses_both_in_any_order() -> None:
    document = example_document()
    sessions = document["sessions"]
    other = next(i for i, s in enumerate(sessions) if s["patient_id"] != sessions[0]["patient_id"])
    sessions[other]["injections"][1]["id"] = sessions[0]["injections"][0]["id"]
    records = [
        {"kind": KIND_OF_LIST[name], **r} for name in LIST_NAME.values() for r in document[name]
    ]
    forward, backward = _both_orders(records)
    assert _normalised(forward.errors) == _normalised(backward.errors)
    first, second = sessions[0]["id"], sessions[other]["id"]
    named = {(e.source_id, e.field): e.message for e in forward.errors if e.kind == "session"}
    at = {r["id"]: i for i, r in enumerate(records)}
    assert named[(first, "injections[0].id")] == (
        f"injection id also used by session {second!r} (record {at[second]}); none of them is sent"
    )
    assert named[(second, "injections[1].id")] == (
        f"injection id also used by session {first!r} (record {at[first]}); none of them is sent"
    )
    kept = set(_kept(records))
    assert kept == set(_kept(list(reversed(records))))
    assert not {("session", first), ("session", second)} & kept
    observations = [
        e for e in forward.errors if e.kind == "observation" and e.field == "session_id"
    ]
    assert observations and all("has errors" in e.message for e in observations)


def test_c_the_document_form_conflict_messages(tmp_path: Path) -> None:
    document = example_document()
    document["patients"][3]["mrn"] = document["patients"][5]["mrn"]
    path = tmp_path / "clinic.json"
    path.write_bytes(orjson.dumps(document))
    errors = [e.as_dict() for e in load_example(path).errors if e.field == "mrn"]
    assert errors == [
        {
            "kind": "patient",
            "source_id": "P004",
            "field": "mrn",
            "message": "MRN also used by patient 'P006' (patients[5]); none of them is sent",
        },
        {
            "kind": "patient",
            "source_id": "P006",
            "field": "mrn",
            "message": "MRN also used by patient 'P004' (patients[3]); none of them is sent",
        },
    ]
