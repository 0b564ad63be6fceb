"""The engine's formats, as the engine states them, and one walker that checks a value against them.

``schema.json`` is the output of ``ssc schema``: the JSON Schema the Rust types derive
(``crates/engine/src/schema.rs``), shipped with the package and held equal to the command's
output by ``tests/test_docs.py``. A field, a value or a range added to the Rust types is
accepted and checked here without a line of Python. The rules that relate one field to
another stay in ``_request_checks.py``.

The walker reads the subset of JSON Schema that schemars writes. A keyword it does not know
is an error, not a pass, so a new kind of rule cannot slip through unchecked.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any

SCHEMA: dict[str, Any] = json.loads(resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8"))
CONSTANTS: dict[str, int] = SCHEMA["x-constants"]

# Keywords that describe and never constrain.
_NOTES = {"description", "default", "title", "$schema", "examples"}
# The engine's integer formats and their ranges. `uint` is Rust's usize: 32 bits in the
# browser's wasm32 engine, which is where a request runs.
_INTEGER_FORMATS = {
    "uint8": (0, 2**8 - 1), "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1), "uint": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1), "int8": (-(2**7), 2**7 - 1), "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1), "int": (-(2**31), 2**31 - 1),
}
_TYPE_NAMES = {
    "object": "a dict", "array": "a list", "string": "a str", "integer": "an integer",
    "number": "a number", "boolean": "True or False", "null": "None",
}


def check(value: Any, definition: str, path: str) -> None:
    """Raises TypeError (a wrong type) or ValueError (a wrong value), naming ``path``, unless
    ``value`` is a valid ``definition`` (a name in ``$defs``, such as ``"Postprocess"``)."""
    _Walker(SCHEMA).walk(value, SCHEMA["$defs"][definition], path)


class _Walker:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.defs = document["$defs"]

    def walk(self, value: Any, schema: Mapping[str, Any], path: str) -> None:
        unknown = set(schema) - _NOTES - set(_KEYWORDS)
        if unknown:
            raise RuntimeError(f"schema.json uses {sorted(unknown)}, which this package does not check; update _schema.py")
        # `type` first, so that the other keywords see a value of the right kind; as in JSON
        # Schema, a keyword about one kind of value says nothing of the others (`null`).
        for keyword in sorted(schema, key=lambda k: k != "type"):
            kind = _APPLIES_TO.get(keyword)
            if keyword in _KEYWORDS and (kind is None or _is(value, kind)):
                _KEYWORDS[keyword](self, value, schema, path)

    def resolve(self, reference: str) -> Mapping[str, Any]:
        definition: Mapping[str, Any] = self.defs[reference.removeprefix("#/$defs/")]
        return definition

    def choices(self, schema: Mapping[str, Any]) -> list[Any] | None:
        """The values a schema of constants allows (`enum`, `const`, or a `oneOf` of those)."""
        if "enum" in schema:
            return list(schema["enum"])
        if "const" in schema:
            return [schema["const"]]
        if "oneOf" in schema:
            groups = [self.choices(s) for s in schema["oneOf"]]
            if all(g is not None for g in groups):
                return [v for g in groups for v in g]  # type: ignore[union-attr]
        if "$ref" in schema:
            return self.choices(self.resolve(schema["$ref"]))
        return None

    def passes(self, value: Any, schema: Mapping[str, Any], path: str) -> bool:
        try:
            self.walk(value, schema, path)
        except (TypeError, ValueError):
            return False
        return True


def _is(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, Mapping)
    if kind == "array":
        return isinstance(value, Sequence) and not isinstance(value, (str, bytes))
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return value is None


def _type(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if not any(_is(value, k) for k in kinds):
        wanted = " or ".join(_TYPE_NAMES[k] for k in kinds)
        raise TypeError(f"{path} must be {wanted}, got {value!r}")
    # JSON cannot carry NaN or infinity to the browser.
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path} must be a finite number, got {value!r}")


def _format(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    bounds = _INTEGER_FORMATS.get(schema["format"])
    if bounds and _is(value, "integer") and not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{path} must be between {bounds[0]} and {bounds[1]}, got {value!r}")


def _ref(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    w.walk(value, w.resolve(schema["$ref"]), path)


def _enum(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    if value not in schema["enum"]:
        raise ValueError(f"{path}: {value!r} is not one of {', '.join(map(repr, schema['enum']))}")


def _const(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    if value != schema["const"]:
        raise ValueError(f"{path} must be {schema['const']!r}, got {value!r}")


def _one_of(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    options = schema["oneOf"]
    allowed = w.choices(schema)
    if allowed is not None:
        if value not in allowed:
            raise ValueError(f"{path}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return
    # A tagged union (`kind`, `op`): the tag picks the variant, whose errors are the ones to report.
    tags = [t for t in options[0].get("properties", {}) if all("const" in o.get("properties", {}).get(t, {}) for o in options)]
    if tags:
        tag = tags[0]
        names = [o["properties"][tag]["const"] for o in options]
        if not isinstance(value, Mapping):
            raise TypeError(f"{path} must be a dict whose {tag!r} is one of {', '.join(map(repr, names))}, got {value!r}")
        if value.get(tag) not in names:
            raise ValueError(f"{path}.{tag}: {value.get(tag)!r} is not one of {', '.join(map(repr, names))}")
        w.walk(value, options[names.index(value[tag])], path)
        return
    if sum(w.passes(value, o, path) for o in options) != 1:
        raise ValueError(f"{path}: {value!r} does not match exactly one of the accepted forms")


def _any_of(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    options = schema["anyOf"]
    if any(w.passes(value, o, path) for o in options):
        return
    # Report the errors of the form that is not the null of an optional field.
    w.walk(value, next((o for o in options if o.get("type") != "null"), options[0]), path)


def _not(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    if w.passes(value, schema["not"], path):
        forbidden = w.choices(schema["not"])
        what = " or ".join(map(repr, forbidden)) if forbidden else "this value"
        raise ValueError(f"{path} must not be {what}")


def _properties(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    properties = schema["properties"]
    for name, sub in properties.items():
        if name in value:
            w.walk(value[name], sub, f"{path}.{name}")


def _required(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    missing = [name for name in schema["required"] if name not in value]
    if missing:
        raise ValueError(f"{path} needs {missing}")


def _additional(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    extra = schema["additionalProperties"]
    declared = set(schema.get("properties", {}))
    if extra is False:
        unknown = sorted(k for k in value if k not in declared)
        if unknown:
            raise ValueError(f"{path}: unknown key(s) {unknown}; allowed keys are {sorted(declared)}")
    elif isinstance(extra, Mapping):
        for key in value:
            if key not in declared:
                if not isinstance(key, str):
                    raise TypeError(f"{path}: keys must be str, got {key!r}")
                w.walk(value[key], extra, f"{path}[{key!r}]")


def _items(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    for i, item in enumerate(value):
        w.walk(item, schema["items"], f"{path}[{i}]")


def _unique(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    if not schema["uniqueItems"]:
        return
    seen: list[Any] = []
    for item in value:
        if item in seen:
            raise ValueError(f"{path} lists {item!r} twice")
        seen.append(item)


# The keywords that bound a value or its length: (what is measured, when it fails, what it must be).
_LIMITS: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], bool], str]] = {
    "minItems": (len, operator.lt, "must hold at least {} value(s)"),
    "maxItems": (len, operator.gt, "must hold at most {} value(s)"),
    "minLength": (len, operator.lt, "must have at least {} character(s)"),
    "maxLength": (len, operator.gt, "must have at most {} character(s)"),
    "minimum": (lambda v: v, operator.lt, "must be >= {}"),
    "maximum": (lambda v: v, operator.gt, "must be <= {}"),
    "exclusiveMinimum": (lambda v: v, operator.le, "must be > {}"),
}


def _limit(keyword: str, w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    measure, fails, says = _LIMITS[keyword]
    measured = measure(value)
    if fails(measured, schema[keyword]):
        raise ValueError(f"{path} {says.format(schema[keyword])}, got {measured!r}")


def _pattern(w: _Walker, value: Any, schema: Mapping[str, Any], path: str) -> None:
    if not re.search(schema["pattern"], value):
        raise ValueError(f"{path}: {value!r} does not match {schema['pattern']}")


_KEYWORDS: dict[str, Callable[[_Walker, Any, Mapping[str, Any], str], None]] = {
    "type": _type, "format": _format, "$ref": _ref, "enum": _enum, "const": _const, "oneOf": _one_of,
    "anyOf": _any_of, "not": _not, "properties": _properties, "required": _required,
    "additionalProperties": _additional, "items": _items, "uniqueItems": _unique, "pattern": _pattern,
    **{keyword: functools.partial(_limit, keyword) for keyword in _LIMITS},
}
_APPLIES_TO = {
    "properties": "object", "required": "object", "additionalProperties": "object",
    "items": "array", "minItems": "array", "maxItems": "array", "uniqueItems": "array",
    "minimum": "number", "maximum": "number", "exclusiveMinimum": "number", "format": "number",
    "minLength": "string", "maxLength": "string", "pattern": "string",
}
