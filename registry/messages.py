"""Error texts: JSON paths, "did you mean", and schema errors said plainly.

jsonschema's own messages describe the schema ("'x' does not match '^[a-z0-9]...'");
the person who mistyped needs the value, what is expected, and the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from jsonschema.exceptions import ValidationError

from registry.model import DURATION_PATTERN, SLUG_PATTERN

Path = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def json_path(path: Iterable[str | int]) -> str:
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


def parse_json_path(text: str) -> Path:
    parts: list[str | int] = []
    for match in re.finditer(r"\.([^.\[]+)|\[(\d+)\]|\['([^']*)'\]", text):
        key, index, quoted = match.groups()
        parts.append(int(index) if index is not None else (key or quoted))
    return tuple(parts)


def suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def choices(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def unknown(what: str, word: str, valid: Sequence[str], of: str = "") -> str:
    """`unknown region 'nrth' (did you mean 'north'?)`, or the valid choices."""
    owner = f" {of}" if of else ""
    hint = suggest(word, valid)
    if hint:
        return f"unknown {what} '{word}'{owner}{hint}"
    return f"unknown {what} '{word}'{owner}; choose from: {choices(valid)}"


def describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"the number {value!r}"


def explain(error: ValidationError) -> list[tuple[Path, str]]:
    """One schema error as (path, message) pairs; `required` may name several fields."""
    path: Path = tuple(error.absolute_path)
    validator = error.validator
    value = error.instance
    if validator == "required":
        return [
            ((*path,), _missing(field, path))
            for field in error.validator_value
            if isinstance(value, dict) and field not in value
        ]
    if validator == "additionalProperties" and error.validator_value is False:
        allowed = list(error.schema.get("properties", {}))
        return [((*path, key), _unknown_field(key, allowed)) for key in value if key not in allowed]
    if validator == "not" and path == ("metadata",):
        return [
            ((*path, "alliance"), "an Alliance belongs to no alliance; remove metadata.alliance")
        ]
    if validator == "anyOf":
        return _any_of(error, path)
    if validator == "propertyNames":
        bad = [key for key in value if not re.match(SLUG_PATTERN, key)]
        return [((*path, key), _bad_name(key)) for key in bad]
    return [(path, _single(error))]


def _missing(field: str, path: Path) -> str:
    if field == "alliance" and path == ("metadata",):
        return "missing required field 'alliance': this kind belongs to an alliance; add metadata.alliance"
    return f"missing required field '{field}'; add it"


def _unknown_field(key: str, allowed: list[str]) -> str:
    hint = suggest(key, allowed)
    if hint:
        return f"unknown field '{key}'{hint}"
    return f"unknown field '{key}'; remove it (allowed here: {', '.join(allowed)})"


def _bad_name(value: str) -> str:
    return (
        f"{value!r} is not a valid name: use lowercase letters, digits and '-', "
        "1 to 63 characters, starting and ending with a letter or digit"
    )


def _bad_duration(value: str) -> str:
    if value.startswith("-"):
        return f"{value!r} is negative; durations count forward: write e.g. PT4H"
    date_part = value.split("T", 1)[0]
    if re.fullmatch(r"P[\d.YMWD]*", date_part) and ("Y" in date_part or "M" in date_part):
        return (
            f"{value!r} uses years or months, which have no fixed length; "
            "write weeks or days instead (P52W, P30D)"
        )
    return (
        f"{value!r} is not an ISO 8601 duration; write weeks, days, hours, minutes "
        "or seconds, e.g. PT4H, P2D, P1DT12H, P2W"
    )


def _single(error: ValidationError) -> str:
    validator, value, expected = error.validator, error.instance, error.validator_value
    if validator == "type":
        wanted = [expected] if isinstance(expected, str) else list(expected)
        names = " or ".join(_TYPE_NAMES.get(t, t) for t in wanted)
        return f"expected {names}, got {describe_value(value)}"
    if validator == "enum":
        options = [str(o) for o in expected]
        if len(options) == 1:
            return f"{value!r} is not supported here; write {options[0]!r}"
        return f"{value!r} is not one of {', '.join(options)}{suggest(str(value), options)}"
    if validator == "const":
        return f"{value!r} is not supported here; write {expected!r}"
    if validator == "pattern":
        if expected == SLUG_PATTERN:
            return _bad_name(value)
        if expected == DURATION_PATTERN:
            return _bad_duration(value)
        if "authority:" in expected:
            return f"{value!r} is neither a contact name nor authority:<name>; write e.g. duty-manager or authority:board"
        if expected == r"^[A-Z]{3}$":
            return f"{value!r} is not a currency code; write three capital letters, e.g. EUR"
        if "@" in expected:
            return f"{value!r} is not an email address; write e.g. noc@partner.example"
        return f"{value!r} does not have the expected form ({expected})"
    if validator == "format" and expected == "date":
        return f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2027-01-01"
    if validator == "minItems":
        return "the list is empty; list at least one item or leave the field out"
    if validator == "minLength":
        return "the text is empty; write something or leave the field out"
    if validator == "minimum":
        return f"{value!r} is below {expected}; write {expected} or more"
    return error.message


def _any_of(error: ValidationError, path: Path) -> list[tuple[Path, str]]:
    if error.schema.get("title") == "Tree":
        return [
            (
                path,
                f"expected a tree (a mapping of nodes, a list of leaf names, or null for a leaf), "
                f"got {describe_value(error.instance)}",
            )
        ]
    # Keep the branches whose type fits the value: their errors are the real ones.
    fitting = [e for e in error.context or [] if e.validator != "type"]
    branches = {tuple(e.relative_schema_path)[0] for e in fitting}
    if len(branches) == 1:
        out: list[tuple[Path, str]] = []
        for sub in fitting:
            out.extend(explain(sub))
        return out
    wanted = [e.validator_value for e in error.context or [] if e.validator == "type"]
    names = " or ".join(_TYPE_NAMES.get(t, str(t)) for t in wanted if isinstance(t, str))
    if names:
        return [(path, f"expected {names}, got {describe_value(error.instance)}")]
    return [(path, error.message)]
