"""Check values against botocore shapes the way AWS services do (Coral-style messages).

Patterns use full-match semantics with the ``regex`` module: the models are written for
Java, whose ``String.matches`` anchors the pattern and whose regexes know ``\\p{L}`` and
friends (Connect's ``TagKey``), which the standard ``re`` module does not. Lengths count
UTF-16 code units, as Java does.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import regex
from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape

_MAX_SHOWN = 200  # long values are cut in messages, AWS does the same


def lower_first(name: str) -> str:
    """``StatementId`` -> ``statementId``: how AWS names members in validation messages."""
    return name[:1].lower() + name[1:]


def _join(path: str, name: str) -> str:
    return f"{path}.{lower_first(name)}" if path else lower_first(name)


# Patterns the model spells with doubled backslashes, which as written match a literal
# backslash: Connect's ``PhoneNumber`` is ``\\+[1-9]\\d{1,14}$`` once its JSON is decoded, so no E.164 number
# would pass, yet ClaimPhoneNumber takes "+15551234567". Checked against what was meant.
# Connect's user ``Password`` is written JavaScript-style, between slashes, which as written no password matches.
_MEANT: dict[str, str] = {
    r"\\+[1-9]\\d{1,14}$": r"\+[1-9]\d{1,14}$",
    r"/^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[a-zA-Z\d\S]{8,64}$/": r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[a-zA-Z\d\S]{8,64}$",
}


@functools.cache
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(_MEANT.get(pattern, pattern))


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "..."


def _fail(errors: list[str], value: Any, path: str, constraint: str) -> None:
    errors.append(f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: {constraint}")


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "float": (int, float),
    "double": (int, float),
    "timestamp": (int, float, str, dt.datetime),
    "blob": (str, bytes),
    "structure": (dict,),
    "list": (list,),
    "map": (dict,),
}


def validate_value(shape: Shape, value: Any, path: str, errors: list[str], *, output: bool) -> None:
    """Append to ``errors`` one message per constraint ``value`` breaks.

    ``output=True`` checks a response the emulator is about to send: required members and
    minimums are skipped (services return empty tag maps and lists where the input shape
    would demand at least one), and so are members unknown to the shape (another botocore
    version may know them; rendering drops them).
    """
    kind = shape.type_name
    expected = _PY_TYPES.get(kind)
    is_bool = isinstance(value, bool)
    if expected is not None and (not isinstance(value, expected) or (is_bool and bool not in expected)):
        _fail(errors, value, path or "input", f"Member must be of type {kind}")
        return
    meta = shape.metadata
    if isinstance(shape, StructureShape):
        _validate_structure(shape, value, path, errors, output=output)
    elif isinstance(shape, ListShape):
        _check_size(errors, value, path, meta, len(value), output=output)
        for index, item in enumerate(value, start=1):
            validate_value(shape.member, item, f"{path}.{index}.member", errors, output=output)
    elif isinstance(shape, MapShape):
        _check_size(errors, value, path, meta, len(value), output=output)
        for key, item in value.items():
            validate_value(shape.key, key, f"{path}.{key}.member.key", errors, output=output)
            validate_value(shape.value, item, f"{path}.{key}.member.value", errors, output=output)
    elif kind == "string":
        _check_size(errors, value, path, meta, _utf16_len(value), output=output)
        enum = shape.enum if isinstance(shape, StringShape) else None
        if enum and value not in enum:
            _fail(errors, value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = meta.get("pattern")
        if pattern and _compiled(pattern).fullmatch(value) is None:
            _fail(errors, value, path, f"Member must satisfy regular expression pattern: {pattern}")
    elif kind in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            _fail(errors, value, path, f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            _fail(errors, value, path, f"Member must have value less than or equal to {meta['max']}")


def _check_size(errors: list[str], value: Any, path: str, meta: Any, size: int, *, output: bool) -> None:
    if not output and "min" in meta and size < meta["min"]:
        _fail(errors, value, path, f"Member must have length greater than or equal to {meta['min']}")
    if "max" in meta and size > meta["max"]:
        _fail(errors, value, path, f"Member must have length less than or equal to {meta['max']}")


def _validate_structure(
    shape: StructureShape, value: dict[str, Any], path: str, errors: list[str], *, output: bool
) -> None:
    members = shape.members
    if not output:
        for name in shape.required_members:
            if value.get(name) is None:
                errors.append(
                    f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
                )
    present = [name for name, item in value.items() if item is not None and name in members]
    if shape.metadata.get("union") and len(present) != 1:
        errors.append(f"Value at '{path or 'input'}' failed to satisfy constraint: exactly one member must be set")
    for name in present:
        validate_value(members[name], value[name], _join(path, name), errors, output=output)
