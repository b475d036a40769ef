"""A fast evaluator for the small FHIRPath subset that invariants use; fhirpathpy does the rest.

fhirpathpy takes 0.1-3 ms per invariant evaluation (more with the R4 model that ``ofType()``
needs): with a dozen invariants per resource it would bound validation at a few hundred
resources per second. Most invariants of base R4, of the vital-signs profiles and of the
project's profiles are paths, ``exists()``/``empty()``/``where()``/``all()``/``iif()``, string
and number comparisons and boolean logic: ``compile`` turns those into Python closures once.

``compile`` returns None for any expression outside the subset (the caller then uses
fhirpathpy); an evaluation that meets a case the subset does not decide (comparing dates,
collections where a singleton is needed) raises ``Unsupported`` and the caller falls back to
fhirpathpy for that one evaluation. tests/test_validation.py checks the two agree on every
invariant of the packaged definitions.

Semantics follow FHIRPath N1: collections are lists, empty propagates through operators,
``and``/``or``/``xor``/``implies`` use three-valued logic, a single non-boolean item counts as
true in a boolean context. Navigation by name also finds a choice element (``value`` finds
``valueQuantity``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Env", "Unsupported", "compile"]


class Unsupported(Exception):
    """An expression or a value this subset does not handle."""


@dataclass(frozen=True, slots=True)
class Env:
    """What an evaluation can refer to besides its input: %resource, and the FHIR type of the
    context item (for ``$this as dateTime``)."""

    resource: Any
    context_type: str | None = None


Fn = Callable[[list[Any], Any, Env], list[Any]]  # (focus, $this item, env) -> collection

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<str>'(?:[^'\\]|\\.)*')"
    r"|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)"
    r"|(?P<var>%[A-Za-z_][A-Za-z0-9_]*|\$this)"
    r"|(?P<op><=|>=|!=|[=<>().,|&])"
    r")"
)
_VARIABLES = {"%ucum": "http://unitsofmeasure.org"}


def _tokens(expr: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None or m.end() == pos:
            raise Unsupported(f"cannot tokenise at {expr[pos : pos + 10]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


# --- values ---------------------------------------------------------------------------------------
def _truth(coll: list[Any]) -> bool | None:
    if not coll:
        return None
    if len(coll) > 1:
        raise Unsupported("a collection where a boolean is needed")
    item = coll[0]
    return item if isinstance(item, bool) else True


def _child(items: list[Any], name: str) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if name in item:
            value = item[name]
        else:
            value = None
            for key, v in item.items():  # a choice element: value -> valueQuantity
                if key.startswith(name) and key[len(name) :][:1].isupper():
                    value = v
                    break
            if value is None:
                continue
        if isinstance(value, list):
            out.extend(v for v in value if v is not None)
        elif value is not None:
            out.append(value)
    return out


def _equal(a: list[Any], b: list[Any]) -> list[Any]:
    if not a or not b:
        return []
    if len(a) != len(b):
        return [False]
    for x, y in zip(a, b, strict=True):
        if isinstance(x, bool) != isinstance(y, bool):
            return [False]
        if (
            isinstance(x, str)
            and isinstance(y, str)
            and x != y
            and _looks_temporal(x)
            and _looks_temporal(y)
        ):
            raise Unsupported("date comparison")
        if x != y:
            return [False]
    return [True]


_TEMPORAL = re.compile(
    r"^\d{4}-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?$"
)


def _looks_temporal(s: str) -> bool:
    """A date/dateTime (with a month at least): their comparison needs precision and time zones,
    so it is left to fhirpathpy. ``85354-9`` or ``2024`` are compared as strings."""
    return bool(_TEMPORAL.match(s))


def _compare(op: str, a: list[Any], b: list[Any]) -> list[Any]:
    if not a or not b:
        return []
    if len(a) > 1 or len(b) > 1:
        raise Unsupported("comparison of collections")
    x, y = a[0], b[0]
    if isinstance(x, bool) or isinstance(y, bool):
        raise Unsupported("comparison of booleans")
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return [_ORDER[op](float(x), float(y))]
    if isinstance(x, str) and isinstance(y, str) and not (_looks_temporal(x) or _looks_temporal(y)):
        return [_ORDER[op](x, y)]
    raise Unsupported("comparison of dates or of mixed types")


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
}


def _and(a: bool | None, b: bool | None) -> list[Any]:
    if a is False or b is False:
        return [False]
    if a is True and b is True:
        return [True]
    return []


def _or(a: bool | None, b: bool | None) -> list[Any]:
    if a is True or b is True:
        return [True]
    if a is False and b is False:
        return [False]
    return []


def _xor(a: bool | None, b: bool | None) -> list[Any]:
    if a is None or b is None:
        return []
    return [a != b]


def _implies(a: bool | None, b: bool | None) -> list[Any]:
    if a is False:
        return [True]
    if a is True:
        return [] if b is None else [b]
    return [True] if b is True else []


_LOGIC: dict[str, Callable[[bool | None, bool | None], list[Any]]] = {
    "and": _and,
    "or": _or,
    "xor": _xor,
    "implies": _implies,
}
# Precedence, lowest first (FHIRPath: implies < or/xor < and < comparison < equality...).
_BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("implies",),
    ("or", "xor"),
    ("and",),
    ("in",),
    ("=", "!="),
    ("<", "<=", ">", ">="),
    ("|",),
    ("&",),
)


# --- parser -----------------------------------------------------------------------------------
class _Parser:
    def __init__(self, expr: str) -> None:
        self.toks = _tokens(expr)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise Unsupported(f"expected {value!r}, found {tok!r}")
        self.i += 1
        return tok

    def parse(self) -> Fn:
        fn = self.binary(0)
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek()!r}")
        return fn

    def binary(self, level: int) -> Fn:
        if level == len(_BINARY_LEVELS):
            return self.postfix()
        left = self.binary(level + 1)
        while True:
            tok = self.peek()
            if tok is None or tok[1] not in _BINARY_LEVELS[level] or tok[0] not in ("id", "op"):
                return left
            self.take()
            right = self.binary(level + 1)
            left = _combine(tok[1], left, right)

    def postfix(self) -> Fn:
        fn = self.primary()
        while self.peek() is not None and self.peek() == ("op", "."):
            self.take(".")
            kind, name = self.take()
            if kind != "id":
                raise Unsupported(f"expected a name after '.', found {name!r}")
            name = name.strip("`")
            fn = self.function(fn, name) if self.peek() == ("op", "(") else _navigate(fn, name)
        while self.peek() == ("id", "as"):
            self.take()
            _, type_name = self.take()
            fn = _as(fn, type_name)
        return fn

    def args(self) -> list[Fn]:
        self.take("(")
        args: list[Fn] = []
        if self.peek() == ("op", ")"):
            self.take(")")
            return args
        while True:
            args.append(self.binary(0))
            if self.peek() == ("op", ","):
                self.take(",")
                continue
            self.take(")")
            return args

    def function(self, focus: Fn, name: str) -> Fn:
        if name in ("is", "ofType"):  # the argument is a type name, not an expression
            self.take("(")
            kind, type_name = self.take()
            if kind != "id":
                raise Unsupported(f"type name expected, found {type_name!r}")
            if self.peek() == ("op", "."):  # FHIR.Composition
                self.take(".")
                type_name = self.take()[1]
            self.take(")")
            return _type_function(focus, name, type_name.strip("`"))
        args = self.args()
        return _function(focus, name, args)

    def primary(self) -> Fn:
        kind, value = self.take()
        if kind == "str":
            literal = value[1:-1].replace("\\'", "'")
            return lambda focus, this, env: [literal]
        if kind == "num":
            number: int | float = float(value) if "." in value else int(value)
            return lambda focus, this, env: [number]
        if kind == "var":
            if value == "$this":
                return lambda focus, this, env: [this]
            if value in ("%resource", "%rootResource"):
                return lambda focus, this, env: [env.resource]
            if value in _VARIABLES:
                constant = _VARIABLES[value]
                return lambda focus, this, env: [constant]
            raise Unsupported(f"variable {value}")
        if kind == "op" and value == "(":
            inner = self.binary(0)
            self.take(")")
            return inner
        if kind == "id":
            name = value.strip("`")
            if name in ("true", "false"):
                flag = name == "true"
                return lambda focus, this, env: [flag]
            if self.peek() == ("op", "("):  # a function of $this: iif(...), exists(), ...
                return self.function(lambda focus, this, env: [this], name)
            return _navigate(lambda focus, this, env: [this], name)
        raise Unsupported(f"unexpected {value!r}")


def _combine(op: str, left: Fn, right: Fn) -> Fn:
    if op in _LOGIC:
        logic = _LOGIC[op]

        def fn_logic(focus: list[Any], this: Any, env: Env) -> list[Any]:
            return logic(_truth(left(focus, this, env)), _truth(right(focus, this, env)))

        return fn_logic
    if op == "|":

        def fn_union(focus: list[Any], this: Any, env: Env) -> list[Any]:
            out: list[Any] = []
            for x in (*left(focus, this, env), *right(focus, this, env)):
                if x not in out:
                    out.append(x)
            return out

        return fn_union
    if op == "&":

        def fn_concat(focus: list[Any], this: Any, env: Env) -> list[Any]:
            a, b = left(focus, this, env), right(focus, this, env)
            if len(a) > 1 or len(b) > 1 or not all(isinstance(x, str) for x in (*a, *b)):
                raise Unsupported("& on a non-string")
            return [(a[0] if a else "") + (b[0] if b else "")]

        return fn_concat
    if op == "in":

        def fn_in(focus: list[Any], this: Any, env: Env) -> list[Any]:
            a, b = left(focus, this, env), right(focus, this, env)
            if not a:
                return []
            if len(a) > 1:
                raise Unsupported("'in' on a collection")
            if isinstance(a[0], str) and _looks_temporal(a[0]):
                raise Unsupported("'in' with a date")
            return [any(_equal([a[0]], [x]) == [True] for x in b)]

        return fn_in
    if op in ("=", "!="):
        negate = op == "!="

        def fn_eq(focus: list[Any], this: Any, env: Env) -> list[Any]:
            result = _equal(left(focus, this, env), right(focus, this, env))
            return [not result[0]] if negate and result else result

        return fn_eq

    def fn_cmp(focus: list[Any], this: Any, env: Env) -> list[Any]:
        return _compare(op, left(focus, this, env), right(focus, this, env))

    return fn_cmp


def _navigate(source: Fn, name: str) -> Fn:
    def fn(focus: list[Any], this: Any, env: Env) -> list[Any]:
        return _child(source(focus, this, env), name)

    return fn


def _as(source: Fn, type_name: str) -> Fn:
    def fn(focus: list[Any], this: Any, env: Env) -> list[Any]:
        items = source(focus, this, env)
        if env.context_type is None or len(items) != 1 or items[0] is not this:
            raise Unsupported("'as' on anything but the typed context item")
        return items if env.context_type == type_name else []

    return fn


def _function(source: Fn, name: str, args: list[Fn]) -> Fn:
    def items(focus: list[Any], this: Any, env: Env) -> list[Any]:
        return source(focus, this, env)

    if name == "exists" and not args:
        return lambda f, t, e: [bool(items(f, t, e))]
    if name == "exists" and len(args) == 1:
        crit = args[0]
        return lambda f, t, e: [any(crit([x], x, e) == [True] for x in items(f, t, e))]
    if name == "empty" and not args:
        return lambda f, t, e: [not items(f, t, e)]
    if name == "not" and not args:

        def fn_not(f: list[Any], t: Any, e: Env) -> list[Any]:
            v = _truth(items(f, t, e))
            return [] if v is None else [not v]

        return fn_not
    if name == "count" and not args:
        return lambda f, t, e: [len(items(f, t, e))]
    if name == "first" and not args:
        return lambda f, t, e: items(f, t, e)[:1]
    if name == "hasValue" and not args:

        def fn_has_value(f: list[Any], t: Any, e: Env) -> list[Any]:
            got = items(f, t, e)
            return [len(got) == 1 and not isinstance(got[0], (dict, list))]

        return fn_has_value
    if name == "where" and len(args) == 1:
        crit = args[0]
        return lambda f, t, e: [x for x in items(f, t, e) if crit([x], x, e) == [True]]
    if name == "select" and len(args) == 1:
        proj = args[0]
        return lambda f, t, e: [y for x in items(f, t, e) for y in proj([x], x, e)]
    if name == "allFalse" and not args:

        def fn_all_false(f: list[Any], t: Any, e: Env) -> list[Any]:
            got = items(f, t, e)
            if not all(isinstance(x, bool) for x in got):
                raise Unsupported("allFalse on non-booleans")
            return [not any(got)]

        return fn_all_false
    if name == "isDistinct" and not args:

        def fn_distinct(f: list[Any], t: Any, e: Env) -> list[Any]:
            got = items(f, t, e)
            if not all(isinstance(x, (str, int, float)) for x in got):
                raise Unsupported("isDistinct on complex values")
            return [len(set(got)) == len(got)]

        return fn_distinct
    if name == "all" and len(args) == 1:
        crit = args[0]
        return lambda f, t, e: [all(crit([x], x, e) == [True] for x in items(f, t, e))]
    if name == "startsWith" and len(args) == 1:
        prefix = args[0]

        def fn_starts(f: list[Any], t: Any, e: Env) -> list[Any]:
            got = items(f, t, e)
            p = prefix(f, t, e)
            if not got or not p:
                return []
            if len(got) > 1 or not isinstance(got[0], str) or not isinstance(p[0], str):
                raise Unsupported("startsWith on a non-string")
            return [got[0].startswith(p[0])]

        return fn_starts
    if name == "contains" and len(args) == 1:
        needle = args[0]

        def fn_contains(f: list[Any], t: Any, e: Env) -> list[Any]:
            got = items(f, t, e)
            n = needle(f, t, e)
            if not got or not n:
                return []
            if len(got) > 1 or not isinstance(got[0], str) or not isinstance(n[0], str):
                raise Unsupported("contains on a non-string")
            return [n[0] in got[0]]

        return fn_contains
    if name == "toString" and not args:

        def fn_str(f: list[Any], t: Any, e: Env) -> list[Any]:
            got = items(f, t, e)
            if len(got) > 1 or (got and isinstance(got[0], (dict, list, bool))):
                raise Unsupported("toString of a complex value")
            return [str(got[0])] if got else []

        return fn_str
    if name == "length" and not args:

        def fn_len(f: list[Any], t: Any, e: Env) -> list[Any]:
            got = items(f, t, e)
            if len(got) > 1 or (got and not isinstance(got[0], str)):
                raise Unsupported("length of a non-string")
            return [len(got[0])] if got else []

        return fn_len
    if name == "intersect" and len(args) == 1:
        other = args[0]

        def fn_intersect(f: list[Any], t: Any, e: Env) -> list[Any]:
            mine = items(f, t, e)
            theirs = other(f, t, e)
            out: list[Any] = []
            for x in mine:
                if x in theirs and x not in out:
                    out.append(x)
            return out

        return fn_intersect
    if name == "iif" and len(args) in (2, 3):
        cond, then = args[0], args[1]
        otherwise = args[2] if len(args) == 3 else None

        def fn_iif(f: list[Any], t: Any, e: Env) -> list[Any]:
            focus = items(f, t, e)
            if len(focus) != 1:
                raise Unsupported("iif on a collection")
            this = focus[0]
            if _truth(cond(focus, this, e)) is True:
                return then(focus, this, e)
            return otherwise(focus, this, e) if otherwise is not None else []

        return fn_iif
    raise Unsupported(f"function {name}()")


def _type_function(source: Fn, name: str, type_name: str) -> Fn:
    """is(T) / ofType(T) on resources (resourceType tells the type); else Unsupported."""

    def items(focus: list[Any], this: Any, env: Env) -> list[Any]:
        return source(focus, this, env)

    if name in ("is", "ofType"):

        def fn_is(f: list[Any], t: Any, e: Env) -> list[Any]:
            got = items(f, t, e)
            if not all(isinstance(x, dict) and isinstance(x.get("resourceType"), str) for x in got):
                raise Unsupported(f"{name}() on something else than a resource")
            if name == "ofType":
                return [x for x in got if x["resourceType"] == type_name]
            if len(got) > 1:
                raise Unsupported("is() on a collection")
            return [got[0]["resourceType"] == type_name] if got else []

        return fn_is
    raise Unsupported(f"function {name}()")


def compile(expression: str) -> Fn | None:
    """A closure ``(focus, this, env) -> list`` for ``expression``, or None outside the subset.

    Call it as ``fn([item], item, Env(resource, type))``."""
    try:
        return _Parser(expression).parse()
    except Unsupported:
        return None
