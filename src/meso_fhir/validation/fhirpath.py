"""A fast evaluator for the small FHIRPath subset that invariants use; fhirpathpy does the rest.

fhirpathpy takes 0.1-3 ms per invariant evaluation (more with the R4 model that ``ofType()``
needs): with a dozen invariants per resource it would bound validation at a few hundred
resources per second. Most invariants of base R4, of the vital-signs profiles and of the
project's profiles are paths, ``exists()``/``empty()``/``where()``/``all()``/``iif()``, string
and number comparisons and boolean logic: ``compile`` turns those into Python closures once.

``compile`` returns None for any expression outside the subset (the caller then uses
fhirpathpy); an evaluation that meets a case the subset does not decide (comparing dates,
collections where a singleton is needed) raises ``Unsupported`` and the caller falls back to
fhirpathpy for that one evaluation. The tests check the two agree on every invariant of the
packaged definitions.

Semantics follow FHIRPath N1: collections are lists, empty propagates through operators,
``and``/``or``/``xor``/``implies`` use three-valued logic, a single non-boolean item counts as
true in a boolean context. Navigation by name also finds a choice element (``value`` finds
``valueQuantity``).

The subset is three tables: ``FUNCTIONS`` (name and number of arguments -> a builder of the
closure), ``OPERATORS`` (binary operators) and ``TYPE_FUNCTIONS`` (``is()``/``ofType()``, whose
argument is a type name); the parser only looks names up in them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "FUNCTIONS",
    "OPERATORS",
    "TYPE_FUNCTIONS",
    "Env",
    "Fn",
    "Unsupported",
    "child",
    "compile",
    "root_names",
]


class Unsupported(Exception):
    """An expression or a value this subset does not handle."""


@dataclass(frozen=True, slots=True)
class Env:
    """What an evaluation can refer to besides its input: %resource, and the FHIR type of the
    context item (for ``$this as dateTime``)."""

    resource: Any
    context_type: str | None = None


Fn = Callable[[list[Any], Any, Env], list[Any]]  # (focus, $this item, env) -> collection
Builder = Callable[[Fn, list[Fn]], Fn]  # (the focus, the arguments) -> the function applied

_TOKEN: Final = re.compile(
    r"\s*(?:"
    r"(?P<str>'(?:[^'\\]|\\.)*')"
    r"|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)"
    r"|(?P<var>%[A-Za-z_][A-Za-z0-9_]*|\$this)"
    r"|(?P<op><=|>=|!=|[=<>().,|&+])"
    r")"
)


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
    n = len(name)
    for item in items:
        if not isinstance(item, dict):
            continue
        if name in item:
            value = item[name]
        else:
            value = None
            for key, v in item.items():  # a choice element: value -> valueQuantity
                if key.startswith(name) and len(key) > n and key[n].isupper():
                    value = v
                    break
            if value is None:
                continue
        if isinstance(value, list):
            if None in value:  # nulls are not values (they are reported by the walk)
                out.extend([v for v in value if v is not None])
            else:
                out.extend(value)
        elif value is not None:
            out.append(value)
    return out


child = _child  # navigation by name as the invariants see it (bundles.py summarises entries)


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


_TEMPORAL: Final = re.compile(
    r"^\d{4}-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?$"
)


def _looks_temporal(s: str) -> bool:
    """A date/dateTime (with a month at least): their comparison needs precision and time zones,
    so it is left to fhirpathpy. ``85354-9`` or ``2024`` are compared as strings."""
    return bool(_TEMPORAL.match(s))


def _compare(order: Callable[[Any, Any], bool], a: list[Any], b: list[Any]) -> list[Any]:
    if not a or not b:
        return []
    if len(a) > 1 or len(b) > 1:
        raise Unsupported("comparison of collections")
    x, y = a[0], b[0]
    if isinstance(x, bool) or isinstance(y, bool):
        raise Unsupported("comparison of booleans")
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return [order(float(x), float(y))]
    if isinstance(x, str) and isinstance(y, str) and not (_looks_temporal(x) or _looks_temporal(y)):
        return [order(x, y)]
    raise Unsupported("comparison of dates or of mixed types")


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


# --- operators ------------------------------------------------------------------------------------
def _logic(op: Callable[[bool | None, bool | None], list[Any]]) -> Callable[[Fn, Fn], Fn]:
    def build(left: Fn, right: Fn) -> Fn:
        def fn(focus: list[Any], this: Any, env: Env) -> list[Any]:
            return op(_truth(left(focus, this, env)), _truth(right(focus, this, env)))

        return fn

    return build


def _comparison(order: Callable[[Any, Any], bool]) -> Callable[[Fn, Fn], Fn]:
    def build(left: Fn, right: Fn) -> Fn:
        def fn(focus: list[Any], this: Any, env: Env) -> list[Any]:
            return _compare(order, left(focus, this, env), right(focus, this, env))

        return fn

    return build


def _union(left: Fn, right: Fn) -> Fn:
    def fn(focus: list[Any], this: Any, env: Env) -> list[Any]:
        out: list[Any] = []
        for x in (*left(focus, this, env), *right(focus, this, env)):
            if x not in out:
                out.append(x)
        return out

    return fn


def _concat(left: Fn, right: Fn) -> Fn:
    def fn(focus: list[Any], this: Any, env: Env) -> list[Any]:
        a, b = left(focus, this, env), right(focus, this, env)
        if len(a) > 1 or len(b) > 1 or not all(isinstance(x, str) for x in (*a, *b)):
            raise Unsupported("& on a non-string")
        return [(a[0] if a else "") + (b[0] if b else "")]

    return fn


def _plus(left: Fn, right: Fn) -> Fn:
    """Integers only (org-1 adds counts); the other sums are fhirpathpy's."""

    def fn(focus: list[Any], this: Any, env: Env) -> list[Any]:
        a, b = left(focus, this, env), right(focus, this, env)
        if not a or not b:
            return []
        if len(a) > 1 or len(b) > 1 or type(a[0]) is not int or type(b[0]) is not int:
            raise Unsupported("+ on other than two integers")
        return [a[0] + b[0]]

    return fn


def _in(left: Fn, right: Fn) -> Fn:
    def fn(focus: list[Any], this: Any, env: Env) -> list[Any]:
        a, b = left(focus, this, env), right(focus, this, env)
        if not a:
            return []
        if len(a) > 1:
            raise Unsupported("'in' on a collection")
        if isinstance(a[0], str) and _looks_temporal(a[0]):
            raise Unsupported("'in' with a date")
        return [any(_equal([a[0]], [x]) == [True] for x in b)]

    return fn


def _equals(left: Fn, right: Fn) -> Fn:
    def fn(focus: list[Any], this: Any, env: Env) -> list[Any]:
        return _equal(left(focus, this, env), right(focus, this, env))

    return fn


def _not_equals(left: Fn, right: Fn) -> Fn:
    def fn(focus: list[Any], this: Any, env: Env) -> list[Any]:
        result = _equal(left(focus, this, env), right(focus, this, env))
        return [not result[0]] if result else result

    return fn


OPERATORS: Final[dict[str, Callable[[Fn, Fn], Fn]]] = {
    "implies": _logic(_implies),
    "or": _logic(_or),
    "xor": _logic(_xor),
    "and": _logic(_and),
    "in": _in,
    "=": _equals,
    "!=": _not_equals,
    "<": _comparison(lambda x, y: x < y),
    "<=": _comparison(lambda x, y: x <= y),
    ">": _comparison(lambda x, y: x > y),
    ">=": _comparison(lambda x, y: x >= y),
    "|": _union,
    "&": _concat,
    "+": _plus,
}
# Precedence, lowest first (FHIRPath: implies < or/xor < and < comparison < equality...).
_BINARY_LEVELS: Final[tuple[tuple[str, ...], ...]] = (
    ("implies",),
    ("or", "xor"),
    ("and",),
    ("in",),
    ("=", "!="),
    ("<", "<=", ">", ">="),
    ("|",),
    ("&", "+"),  # additive: one level in FHIRPath
)


# --- functions ------------------------------------------------------------------------------------
# A builder gets the focus as a closure and the arguments as closures, unevaluated: where(),
# all(), exists() evaluate theirs once per item, with that item as $this.
def _exists(source: Fn, args: list[Fn]) -> Fn:
    return lambda f, t, e: [bool(source(f, t, e))]


def _exists_where(source: Fn, args: list[Fn]) -> Fn:
    crit = args[0]
    return lambda f, t, e: [any(crit([x], x, e) == [True] for x in source(f, t, e))]


def _empty(source: Fn, args: list[Fn]) -> Fn:
    return lambda f, t, e: [not source(f, t, e)]


def _not(source: Fn, args: list[Fn]) -> Fn:
    def fn(f: list[Any], t: Any, e: Env) -> list[Any]:
        v = _truth(source(f, t, e))
        return [] if v is None else [not v]

    return fn


def _count(source: Fn, args: list[Fn]) -> Fn:
    return lambda f, t, e: [len(source(f, t, e))]


def _first(source: Fn, args: list[Fn]) -> Fn:
    return lambda f, t, e: source(f, t, e)[:1]


def _has_value(source: Fn, args: list[Fn]) -> Fn:
    def fn(f: list[Any], t: Any, e: Env) -> list[Any]:
        got = source(f, t, e)
        return [len(got) == 1 and not isinstance(got[0], (dict, list))]

    return fn


def _where(source: Fn, args: list[Fn]) -> Fn:
    crit = args[0]
    return lambda f, t, e: [x for x in source(f, t, e) if crit([x], x, e) == [True]]


def _select(source: Fn, args: list[Fn]) -> Fn:
    proj = args[0]
    return lambda f, t, e: [y for x in source(f, t, e) for y in proj([x], x, e)]


def _all(source: Fn, args: list[Fn]) -> Fn:
    crit = args[0]
    return lambda f, t, e: [all(crit([x], x, e) == [True] for x in source(f, t, e))]


def _all_false(source: Fn, args: list[Fn]) -> Fn:
    def fn(f: list[Any], t: Any, e: Env) -> list[Any]:
        got = source(f, t, e)
        if not all(isinstance(x, bool) for x in got):
            raise Unsupported("allFalse on non-booleans")
        return [not any(got)]

    return fn


def _is_distinct(source: Fn, args: list[Fn]) -> Fn:
    def fn(f: list[Any], t: Any, e: Env) -> list[Any]:
        got = source(f, t, e)
        if not all(isinstance(x, (str, int, float)) for x in got):
            raise Unsupported("isDistinct on complex values")
        return [len(set(got)) == len(got)]

    return fn


def _string_test(name: str, test: Callable[[str, str], bool]) -> Builder:
    """startsWith() / contains(): a string and a string argument (evaluated on the same focus
    as the function, not per item)."""

    def build(source: Fn, args: list[Fn]) -> Fn:
        arg = args[0]

        def fn(f: list[Any], t: Any, e: Env) -> list[Any]:
            got = source(f, t, e)
            a = arg(f, t, e)
            if not got or not a:
                return []
            if len(got) > 1 or not isinstance(got[0], str) or not isinstance(a[0], str):
                raise Unsupported(f"{name} on a non-string")
            return [test(got[0], a[0])]

        return fn

    return build


def _to_string(source: Fn, args: list[Fn]) -> Fn:
    def fn(f: list[Any], t: Any, e: Env) -> list[Any]:
        got = source(f, t, e)
        if len(got) > 1 or (got and isinstance(got[0], (dict, list, bool))):
            raise Unsupported("toString of a complex value")
        return [str(got[0])] if got else []

    return fn


def _length(source: Fn, args: list[Fn]) -> Fn:
    def fn(f: list[Any], t: Any, e: Env) -> list[Any]:
        got = source(f, t, e)
        if len(got) > 1 or (got and not isinstance(got[0], str)):
            raise Unsupported("length of a non-string")
        return [len(got[0])] if got else []

    return fn


def _intersect(source: Fn, args: list[Fn]) -> Fn:
    other = args[0]

    def fn(f: list[Any], t: Any, e: Env) -> list[Any]:
        mine = source(f, t, e)
        theirs = other(f, t, e)
        out: list[Any] = []
        for x in mine:
            if x in theirs and x not in out:
                out.append(x)
        return out

    return fn


def _iif(source: Fn, args: list[Fn]) -> Fn:
    cond, then = args[0], args[1]
    otherwise = args[2] if len(args) == 3 else None

    def fn(f: list[Any], t: Any, e: Env) -> list[Any]:
        focus = source(f, t, e)
        if len(focus) != 1:
            raise Unsupported("iif on a collection")
        this = focus[0]
        if _truth(cond(focus, this, e)) is True:
            return then(focus, this, e)
        return otherwise(focus, this, e) if otherwise is not None else []

    return fn


FUNCTIONS: Final[dict[tuple[str, int], Builder]] = {
    ("exists", 0): _exists,
    ("exists", 1): _exists_where,
    ("empty", 0): _empty,
    ("not", 0): _not,
    ("count", 0): _count,
    ("first", 0): _first,
    ("hasValue", 0): _has_value,
    ("where", 1): _where,
    ("select", 1): _select,
    ("all", 1): _all,
    ("allFalse", 0): _all_false,
    ("isDistinct", 0): _is_distinct,
    ("startsWith", 1): _string_test("startsWith", str.startswith),
    ("contains", 1): _string_test("contains", lambda s, sub: sub in s),
    ("toString", 0): _to_string,
    ("length", 0): _length,
    ("intersect", 1): _intersect,
    ("iif", 2): _iif,
    ("iif", 3): _iif,
}


def _is(source: Fn, type_name: str) -> Fn:
    def fn(f: list[Any], t: Any, e: Env) -> list[Any]:
        got = _resources(source(f, t, e), "is")
        if len(got) > 1:
            raise Unsupported("is() on a collection")
        return [got[0]["resourceType"] == type_name] if got else []

    return fn


def _of_type(source: Fn, type_name: str) -> Fn:
    def fn(f: list[Any], t: Any, e: Env) -> list[Any]:
        return [x for x in _resources(source(f, t, e), "ofType") if x["resourceType"] == type_name]

    return fn


def _resources(got: list[Any], name: str) -> list[Any]:
    # Only a resource says its type in the JSON; anything else needs the model fhirpathpy has.
    if not all(isinstance(x, dict) and isinstance(x.get("resourceType"), str) for x in got):
        raise Unsupported(f"{name}() on something else than a resource")
    return got


TYPE_FUNCTIONS: Final[dict[str, Callable[[Fn, str], Fn]]] = {"is": _is, "ofType": _of_type}


# --- parser ---------------------------------------------------------------------------------------
def _this(focus: list[Any], this: Any, env: Env) -> list[Any]:
    return [this]


def _resource(focus: list[Any], this: Any, env: Env) -> list[Any]:
    return [env.resource]


_VARIABLES: Final[dict[str, Fn]] = {
    "$this": _this,
    "%resource": _resource,
    "%rootResource": _resource,
    "%ucum": lambda focus, this, env: ["http://unitsofmeasure.org"],
}


# Functions whose argument is evaluated on each item of their input: names in it are the items'.
_PER_ITEM: Final = frozenset({"where", "select", "all", "exists"})


class _Parser:
    def __init__(self, expr: str) -> None:
        self.toks = _tokens(expr)
        self.i = 0
        # What the expression reads of its input: the names it navigates from it (``roots``),
        # or (``whole``) the input itself ($this) or the resource; see ``root_names``.
        self.roots: set[str] = set()
        self.whole = False
        self.per_item = 0  # > 0 inside the argument of a _PER_ITEM function

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
            left = OPERATORS[tok[1]](left, right)

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
        type_function = TYPE_FUNCTIONS.get(name)
        if type_function is not None:
            return type_function(focus, self.type_argument())
        self.per_item += name in _PER_ITEM
        args = self.args()
        self.per_item -= name in _PER_ITEM
        builder = FUNCTIONS.get((name, len(args)))
        if builder is None:
            raise Unsupported(f"function {name}()")
        return builder(focus, args)

    def type_argument(self) -> str:
        """``(Composition)`` or ``(FHIR.Composition)``: a type name, not an expression."""
        self.take("(")
        kind, type_name = self.take()
        if kind != "id":
            raise Unsupported(f"type name expected, found {type_name!r}")
        if self.peek() == ("op", "."):
            self.take(".")
            type_name = self.take()[1]
        self.take(")")
        return type_name.strip("`")

    def primary(self) -> Fn:
        kind, value = self.take()
        if kind == "str":
            literal = value[1:-1].replace("\\'", "'")
            return lambda focus, this, env: [literal]
        if kind == "num":
            number: int | float = float(value) if "." in value else int(value)
            return lambda focus, this, env: [number]
        if kind == "var":
            self.whole = self.whole or (
                value != "%ucum" and (value != "$this" or not self.per_item)
            )
            variable = _VARIABLES.get(value)
            if variable is None:
                raise Unsupported(f"variable {value}")
            return variable
        if kind == "op" and value == "(":
            inner = self.binary(0)
            self.take(")")
            return inner
        if kind == "id":
            return self.name(value.strip("`"))
        raise Unsupported(f"unexpected {value!r}")

    def name(self, name: str) -> Fn:
        """A name at the start of a path: a boolean, a function of $this (``iif(...)``,
        ``exists()``), or a child of $this."""
        if name in ("true", "false"):
            flag = name == "true"
            return lambda focus, this, env: [flag]
        if self.peek() == ("op", "("):
            # A function of the input itself (hasValue(), empty()) reads all of it; iif() only
            # picks it as $this for its arguments.
            self.whole = self.whole or (name != "iif" and not self.per_item)
            return self.function(_this, name)
        if not self.per_item:
            self.roots.add(name)
        return _navigate(_this, name)


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


def root_names(expression: str) -> frozenset[str] | None:
    """The names ``expression`` navigates from its input (``value`` stands for ``valueX`` too),
    when its result depends on nothing else of the input or of the resource; else (or outside
    the subset) None. Two inputs with the same values under those names give the same result,
    which lets the caller remember results. Names inside ``iif()`` or ``startsWith()`` arguments
    count (they may be the input's); those inside ``where()``, ``all()``, ``select()`` or
    ``exists()`` are the items'."""
    try:
        parser = _Parser(expression)
        parser.parse()
    except Unsupported:
        return None
    return None if parser.whole else frozenset(parser.roots)


def compile(expression: str) -> Fn | None:
    """A closure ``(focus, this, env) -> list`` for ``expression``, or None outside the subset.

    Call it as ``fn([item], item, Env(resource, type))``."""
    try:
        return _Parser(expression).parse()
    except Unsupported:
        return None
