"""Resource quantities exactly, as apimachinery's resource.Quantity holds them: their value (a
fraction, rounded up to nanos as ParseQuantity rounds it) for Semantic.DeepEqual's comparisons,
and their canonical text (Quantity.String(): "1024Mi" is "1Gi", "0.5" is "500m"). Pure."""

from __future__ import annotations

import math
import re
from fractions import Fraction

_QUANTITY = re.compile(r"([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(.*)\Z", re.S)
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exp: suffix for suffix, exp in _DECIMAL.items()}
_BINARY_SUFFIX = {exp: suffix for suffix, exp in _BINARY.items()}
_NANO = 10 ** 9


def parse(value: object) -> tuple[Fraction, str] | None:
    """(the exact value, its format: "DecimalSI", "BinarySI" or "DecimalExponent"), or None when
    ParseQuantity would refuse it. JSON numbers are read as their text, as Quantity's
    UnmarshalJSON reads them."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = value.strip() if isinstance(value, str) else str(value)
    m = _QUANTITY.match(text)
    if m is None:
        return None
    sign, number, suffix = m.groups()
    amount = Fraction(number)
    if suffix in _BINARY:
        amount, kind = amount * 1024 ** _BINARY[suffix], "BinarySI"
    elif suffix in _DECIMAL:
        amount, kind = amount * Fraction(10) ** _DECIMAL[suffix], "DecimalSI"
    elif suffix[:1] in ("e", "E") and re.fullmatch(r"[+-]?[0-9]+", suffix[1:]):
        exponent = int(suffix[1:])
        if abs(exponent) > 1000:
            return None
        amount, kind = amount * Fraction(10) ** exponent, "DecimalExponent"
    else:
        return None
    # Anything finer than a nano is rounded up (away from zero) to one.
    nanos = amount * _NANO
    if nanos.denominator != 1:
        amount = Fraction(math.ceil(nanos), _NANO)
    if kind == "BinarySI" and 0 < amount < 1:
        kind = "DecimalSI"
    return (-amount if sign == "-" else amount), kind


def exact(value: object) -> Fraction | None:
    parsed = parse(value)
    return None if parsed is None else parsed[0]


def canonical(value: object) -> str | None:
    """Quantity.String() of a quantity's text, None when it is not one."""
    parsed = parse(value)
    if parsed is None:
        return None
    amount, kind = parsed
    if amount == 0:
        return "0"
    if kind == "BinarySI" and (-1024 < amount < 1024 or amount.denominator != 1):
        kind = "DecimalSI"  # as CanonicalizeBytes: small or fractional binary values are written in decimal
    if kind == "BinarySI":
        number, exponent = _remove_factors(int(amount), 1024)
        return f"{number}{_BINARY_SUFFIX[exponent]}" if exponent in _BINARY_SUFFIX else \
            f"{number * 1024 ** (exponent - 6)}Ei"
    # AsCanonicalBytes: an integer mantissa times 10^exponent, the exponent a multiple of 3.
    scaled = amount * _NANO
    number, exponent = _remove_factors(int(scaled), 10)
    exponent -= 9
    drop = exponent % 3
    number, exponent = number * 10 ** drop, exponent - drop
    if kind == "DecimalSI" and exponent in _DECIMAL_SUFFIX:
        return f"{number}{_DECIMAL_SUFFIX[exponent]}"
    return f"{number}e{exponent}" if exponent else str(number)


def _remove_factors(value: int, base: int) -> tuple[int, int]:
    times = 0
    while value and value % base == 0:
        value //= base
        times += 1
    return value, times
