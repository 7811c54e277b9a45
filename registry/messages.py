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

from registry.model import DURATION_PATTERN, SLUG_PATTERN, TICKET_FIELD_PATTERN, TICKET_SOURCES

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


def _closest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def suggest(word: str, choices: Iterable[str]) -> str:
    close = _closest(word, choices)
    return f" (did you mean '{close}'?)" if close else ""


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


def explain_all(errors: Sequence[ValidationError]) -> list[list[tuple[Path, str]]]:
    """Schema errors of one document as (path, message) pairs, one list per error.

    A misspelt required field is one mistake, not two: when an unknown field's
    "did you mean" names a missing required field of the same mapping, the
    "missing required field" error is left out."""
    typos: set[tuple[Path, str]] = set()
    for error in errors:
        validator, value, expected, schema = _parts(error)
        if validator == "additionalProperties" and expected is False:
            allowed = list(schema.get("properties", {}))
            for key in value:
                close = _closest(key, allowed)
                if key not in allowed and close:
                    typos.add((tuple(error.absolute_path), close))
    out: list[list[tuple[Path, str]]] = []
    for error in errors:
        pairs = explain(error)
        if error.validator == "required":
            path: Path = tuple(error.absolute_path)
            missing = _missing_fields(error)
            pairs = [p for p, f in zip(pairs, missing, strict=True) if (path, f) not in typos]
        out.append(pairs)
    return out


def _missing_fields(error: ValidationError) -> list[str]:
    _, value, expected, _ = _parts(error)
    return [f for f in expected if isinstance(value, dict) and f not in value]


def explain(error: ValidationError) -> list[tuple[Path, str]]:
    """One schema error as (path, message) pairs; `required` may name several fields."""
    path: Path = tuple(error.absolute_path)
    validator, value, expected, schema = _parts(error)
    if "propertyNames" in error.relative_schema_path:
        # The error is about a key: point at the key, not at the mapping holding it.
        return [((*path, value), _bad_key(error, path))]
    if validator == "required":
        return [(path, _missing(field, path)) for field in _missing_fields(error)]
    if validator == "additionalProperties" and expected is False:
        allowed = list(schema.get("properties", {}))
        return [((*path, key), _unknown_field(key, allowed)) for key in value if key not in allowed]
    if validator == "not" and path == ("metadata",):
        return [
            ((*path, "alliance"), "an Alliance belongs to no alliance; remove metadata.alliance")
        ]
    if validator == "anyOf":
        return _any_of(error, path)
    if validator == "oneOf" and schema.get("title") == "TicketDimension":
        return [(path, _ticket_sources(value))]
    return [(path, _single(error))]


def _ticket_sources(value: Any) -> str:
    given = [s for s in TICKET_SOURCES if isinstance(value, dict) and s in value]
    options = f"{', '.join(TICKET_SOURCES[:-1])} or {TICKET_SOURCES[-1]}"
    if not given:
        return f"say where the ticket names this dimension: add one of {options}"
    return (
        f"give one source, not {len(given)}: {' and '.join(given)}; "
        f"a dimension is read from exactly one of {options}"
    )


def _bad_key(error: ValidationError, path: Path) -> str:
    validator, key, expected, _ = _parts(error)
    if validator == "enum":
        return unknown(_noun(path), str(key), [str(o) for o in expected])
    return _bad_name(str(key))


# What the values of a field are called, for "unknown <noun> 'x'".
_NOUNS = {
    "type": "endpoint type",
    "mode": "handoff mode",
    "deliveryModel": "delivery model",
    "severity": "severity",
    "rules": "rule",
}


def _noun(path: Path) -> str:
    last = next((p for p in reversed(path) if isinstance(p, str)), "")
    return _NOUNS.get(last, f"{last} value" if last else "value")


def _missing(field: str, path: Path) -> str:
    if field == "alliance" and path == ("metadata",):
        return (
            "missing required field 'alliance': this kind belongs to an alliance; "
            "add metadata.alliance with the name of its Alliance"
        )
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


def _parts(error: ValidationError) -> tuple[Any, Any, Any, dict[str, Any]]:
    """validator, instance, validator_value, schema: jsonschema types them as possibly
    `Unset`, which they never are on an error that came out of `iter_errors`."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    return error.validator, error.instance, error.validator_value, schema


def _single(error: ValidationError) -> str:
    validator, value, expected, _ = _parts(error)
    path: Path = tuple(error.absolute_path)
    if validator == "type":
        return _wrong_type(expected, value)
    if validator == "enum":
        options = [str(o) for o in expected]
        if len(options) == 1:
            return f"{value!r} is not supported here; write {options[0]!r}"
        return unknown(_noun(path), str(value), options)
    if validator == "const":
        return f"{value!r} is not supported here; write {expected!r}"
    if validator == "pattern":
        return _bad_form(value, expected)
    if validator == "format" and expected == "date":
        return f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2027-01-01"
    if validator == "minItems":
        if "where" in path or "except" in path:
            return (
                f"the list is empty; name at least one node, or leave '{path[-1]}' out "
                "to mean the whole dimension"
            )
        return "the list is empty; list at least one item"
    if validator == "minLength":
        return "the text is empty; write something here"
    if validator == "minimum":
        return f"{value!r} is below {expected}; write {expected} or more"
    return error.message


def _wrong_type(expected: Any, value: Any) -> str:
    wanted = [expected] if isinstance(expected, str) else list(expected)
    names = " or ".join(_TYPE_NAMES.get(t, t) for t in wanted)
    message = f"expected {names}, got {describe_value(value)}"
    if wanted == ["array"] and isinstance(value, str | int | float) and not isinstance(value, bool):
        message += f"; write it as a list: [{value}]"
    return message


def _bad_form(value: str, pattern: str) -> str:
    if pattern == SLUG_PATTERN:
        return _bad_name(value)
    if pattern == DURATION_PATTERN:
        return _bad_duration(value)
    if "authority:" in pattern:
        return (
            f"{value!r} is neither a contact name nor authority:<name>; "
            "write e.g. duty-manager or authority:board"
        )
    if pattern == TICKET_FIELD_PATTERN:
        return (
            f"{value!r} is not a ticket field path: write field names joined by dots, "
            "e.g. ticketType or channel.name"
        )
    if pattern == r"^[A-Z]{3}$":
        return f"{value!r} is not a currency code; write three capital letters, e.g. EUR"
    if "@" in pattern:
        return f"{value!r} is not an email address; write e.g. noc@partner.example"
    return f"{value!r} does not have the expected form ({pattern})"


def _any_of(error: ValidationError, path: Path) -> list[tuple[Path, str]]:
    if _parts(error)[3].get("title") == "Tree":
        return _tree(error, path)
    # Keep the branches whose type fits the value: their errors are the real ones.
    fitting = [e for e in error.context or [] if e.validator != "type"]
    branches = {next(iter(e.relative_schema_path)) for e in fitting}
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


def _tree(error: ValidationError, path: Path) -> list[tuple[Path, str]]:
    """A tree that failed: if its form is right, the errors are inside it."""
    value = error.instance
    # The branches of the Tree schema: 0 null, 1 a list of leaves, 2 a mapping of nodes.
    branch = 1 if isinstance(value, list) else 2 if isinstance(value, dict) else None
    inside = [e for e in error.context or [] if next(iter(e.relative_schema_path)) == branch]
    if not inside:
        hint = f"; a single leaf is written [{value}]" if isinstance(value, str) else ""
        return [
            (
                path,
                "expected a tree (a mapping of nodes, a list of leaf names, or null for a leaf), "
                f"got {describe_value(value)}{hint}",
            )
        ]
    out: list[tuple[Path, str]] = []
    for sub in inside:
        if sub.validator == "type":
            out.append(
                (
                    tuple(sub.absolute_path),
                    f"expected a leaf name, got {describe_value(sub.instance)}; a list holds "
                    "leaf names only: write a node with children as a mapping (node: [leaves])",
                )
            )
        else:
            out.extend(explain(sub))
    return out
