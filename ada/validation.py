"""One way to reject a bad value: the dotted field, the value, and what is allowed.

Every package (worlds, agents, curriculum, ada) checks its inputs with these helpers, so a
malformed config, task file or request always fails the same way: one `ConfigError` whose
message reads

    env.image_size: 4 is not allowed; allowed are integers >= 8

The CLIs print that line and exit with status 2. This module imports nothing from the project
(like `ada.paths`), so the bottom layers can use it without depending on anything above them.

Each helper returns the checked value (converted where that is lossless: an int for a float
option, a tuple for a list), so callers write `n = integer("runtime.num_actors", n, lo=1)`.
Values are quoted with `show`, cut to one short line: a hand-edited file may hold a 400-digit
number or a list nested thousands deep, and the error must still be one readable line.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn


class ConfigError(ValueError):
    """A value is not allowed; the message names the dotted field and the allowed values."""


_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 120, 60, 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 8
_SHORT.maxlevel = 4


def show(value: Any) -> str:
    """`repr(value)` cut to one short line, for quoting what a file or config holds."""
    try:
        return _SHORT.repr(value)
    except (ValueError, RecursionError):  # an int past Python's digit limit, a cyclic object
        return f"<{type(value).__name__} too large to show>"


def fail(field: str, value: Any, allowed: str) -> NoReturn:
    """Raise the one-line error: `field: value is not allowed; allowed are <allowed>`."""
    raise ConfigError(f"{field}: {show(value)} is not allowed; allowed are {allowed}")


def join(path: str, name: str) -> str:
    """`path.name`, or `name` alone at the top level."""
    return f"{path}.{name}" if path else name


def is_integer(value: Any) -> bool:
    """An integer that is not a bool (YAML `true` must not pass as 1). NumPy integers count:
    arrays and random generators hand them out (numpy's bool is no `numbers.Integral`)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A real number (int, float, NumPy scalar) that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_finite(value: Any) -> bool:
    """A number a float can hold: NaN, inf and ints past float range (a 400-digit integer,
    which `float()` would raise OverflowError on) are not."""
    try:
        return is_number(value) and math.isfinite(value)
    except OverflowError:
        return False


def _num(x: float) -> str:
    """A bound as written: ints in full (100000, not 1e+05), floats shortest (0.5, 1e-06)."""
    return str(x) if isinstance(x, int) else f"{x:g}"


def _bounds(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{_num(lo)}, {_num(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {_num(lo)}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {_num(hi)}"
    return ""


def _inside(x: float, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> bool:
    if lo is not None and (x < lo or (lo_open and x == lo)):
        return False
    return not (hi is not None and (x > hi or (hi_open and x == hi)))


def integer(field: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    """An integer in [lo, hi]; a bool, a float or a string is refused."""
    if not is_integer(value) or not _inside(value, lo, hi, False, False):
        fail(field, value, f"integers {_bounds(lo, hi, False, False)}".rstrip())
    return int(value)


def optional_integer(field: str, value: Any, lo: int | None = None,
                     hi: int | None = None) -> int | None:
    """None, or an integer in [lo, hi]."""
    if value is None:
        return None
    if not is_integer(value) or not _inside(value, lo, hi, False, False):
        fail(field, value, f"null or integers {_bounds(lo, hi, False, False)}".rstrip())
    return int(value)


def number(field: str, value: Any, lo: float | None = None, hi: float | None = None, *,
           lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite number in the given interval (open ends where asked); NaN and inf refused."""
    if not is_finite(value) or not _inside(float(value), lo, hi, lo_open, hi_open):
        fail(field, value, f"numbers {_bounds(lo, hi, lo_open, hi_open)}".rstrip())
    return float(value)


def optional_number(field: str, value: Any, lo: float | None = None,
                    hi: float | None = None) -> float | None:
    """None, or a finite number in [lo, hi]."""
    if value is None:
        return None
    if not is_finite(value) or not _inside(float(value), lo, hi, False, False):
        fail(field, value, f"null or numbers {_bounds(lo, hi, False, False)}".rstrip())
    return float(value)


def number_pair(field: str, value: Any, lo: float, hi: float) -> tuple[float, float]:
    """A range [a, b] to sample from, with lo <= a <= b <= hi."""
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2 \
            or not all(is_finite(v) for v in value) or not lo <= value[0] <= value[1] <= hi:
        fail(field, value, f"pairs [lo, hi] with {_num(lo)} <= lo <= hi <= {_num(hi)}")
    return float(value[0]), float(value[1])


def integer_pair(field: str, value: Any, lo: int, hi: int) -> tuple[int, int]:
    """[a, b] of integers with lo <= a <= b <= hi."""
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2 \
            or not all(is_integer(v) for v in value) or not lo <= value[0] <= value[1] <= hi:
        fail(field, value, f"pairs [lo, hi] of integers with {lo} <= lo <= hi <= {hi}")
    return int(value[0]), int(value[1])


def choice(field: str, value: Any, allowed: Iterable[Any]) -> Any:
    """One of `allowed` (compared with ==)."""
    options = list(allowed)
    if value not in options:
        fail(field, value, str(options))
    return value


def boolean(field: str, value: Any) -> bool:
    """True or false; 0, 1 and strings are refused."""
    if not isinstance(value, bool):
        fail(field, value, "true or false")
    return value


def text(field: str, value: Any, *, optional: bool = False) -> str | None:
    """A non-empty string (or None where `optional`)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        fail(field, value, "null or non-empty strings" if optional else "non-empty strings")
    return value


def known_fields(field: str, values: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Unknown keys are errors: a misspelt option must not be silently ignored."""
    names = sorted(allowed)
    unknown = sorted(set(values) - set(names))
    if unknown:
        where = f"{field}: unknown" if field else "unknown top-level"
        raise ConfigError(f"{where} field(s) {unknown}; allowed fields are {names}")


def build(cls: type, values: Mapping[str, Any] | None, path: str) -> Any:
    """Dataclass `cls` from `values`, unknown keys refused and every error prefixed `path.`.

    The dataclass's `__post_init__` checks its own fields by their bare names; this prefixes
    the section so that the message names the dotted field the user wrote."""
    values = dict(values or {})
    known_fields(path, values, [f.name for f in dataclasses.fields(cls)])
    try:
        return cls(**values)
    except (ValueError, TypeError) as err:
        raise prefixed(path, err) from None


def prefixed(path: str, err: Exception) -> ConfigError:
    """`err` as a ConfigError whose field is under `path` (unless it already is)."""
    msg = str(err)
    if not path or msg.startswith(path + ".") or msg.startswith(path + ":"):
        return ConfigError(msg)
    return ConfigError(f"{path}.{msg}")


__all__ = ["ConfigError", "boolean", "build", "choice", "fail", "integer", "integer_pair",
           "is_finite", "is_integer", "is_number", "join", "known_fields", "number", "number_pair",
           "optional_integer", "optional_number", "prefixed", "show", "text"]
