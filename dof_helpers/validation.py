"""Input checks shared by every module.

Every public function of :mod:`dof_helpers` validates its arguments with these
helpers, so a bad value fails at once with a message that names the parameter and
the values it accepts, e.g.::

    ValueError: dataset='mnst' is not valid; accepted values: 'cifar10', 'cifar100', ...
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Iterable


def check_choice(name: str, value, accepted: Iterable):
    """Return ``value`` if it is one of ``accepted``; otherwise raise ``ValueError``.

    The message lists every accepted value so the reader can fix the call.
    """
    accepted = tuple(accepted)
    if value not in accepted:
        listed = ", ".join(repr(a) for a in accepted)
        raise ValueError(f"{name}={value!r} is not valid; accepted values: {listed}")
    return value


def check_int(name: str, value, *, min_value: int | None = None, max_value: int | None = None) -> int:
    """Return ``value`` as ``int`` if it is an integer in ``[min_value, max_value]``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name}={value!r} is not valid; expected an integer"
                         + _range_text(min_value, max_value))
    value = int(value)
    if (min_value is not None and value < min_value) or (max_value is not None and value > max_value):
        raise ValueError(f"{name}={value!r} is not valid; expected an integer" + _range_text(min_value, max_value))
    return value


def check_float(name: str, value, *, min_value: float | None = None, max_value: float | None = None,
                open_min: bool = False, open_max: bool = False) -> float:
    """Return ``value`` as ``float`` if it is a finite real number in the given interval.

    ``open_min`` / ``open_max`` exclude the end points, e.g. ``delta`` in (0, 1).
    """
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name}={value!r} is not valid; expected a finite number"
                         + _interval_text(min_value, max_value, open_min, open_max))
    value = float(value)
    bad_low = min_value is not None and (value <= min_value if open_min else value < min_value)
    bad_high = max_value is not None and (value >= max_value if open_max else value > max_value)
    if bad_low or bad_high:
        raise ValueError(f"{name}={value!r} is not valid; expected a number"
                         + _interval_text(min_value, max_value, open_min, open_max))
    return value


def _range_text(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f" in [{lo}, {hi}]"
    if lo is not None:
        return f" >= {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


def _interval_text(lo, hi, open_lo, open_hi) -> str:
    if lo is None and hi is None:
        return ""
    left = "(" if open_lo or lo is None else "["
    right = ")" if open_hi or hi is None else "]"
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    return f" in {left}{lo_s}, {hi_s}{right}"
