"""What no patient changes, built once per loaded evidence (and type, and language).

The evidence is immutable once loaded, so the words and views that depend
only on it (the derivation, the limits, the controlled evidence shown as
context, the versions) are the same for every patient and every request.
They are kept here, keyed by the evidence object itself (its identity, not its
value: hashing its whole tree on every request would cost more than building
the words again), and by whatever else they depend on, such as the failure
type and the language. Nothing about a patient is ever a key or a value.

The store is bounded: it is cleared when full (a handful of evidence files,
types and languages are in use at once, so it rarely is).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Final, TypeVar, cast

_T = TypeVar("_T")

_LIMIT: Final = 256
_HELD: dict[tuple[Hashable, ...], tuple[object, object]] = {}


def once(owner: object, key: tuple[Hashable, ...], build: Callable[[], _T]) -> _T:
    """``build()``, made once for ``owner`` (held by identity) and ``key``, then reused.

    ``key`` must name everything ``build`` depends on besides ``owner``, and
    nothing about a patient.
    """
    full = (id(owner), *key)
    held = _HELD.get(full)
    if held is None or held[0] is not owner:
        if len(_HELD) >= _LIMIT:
            _HELD.clear()
        held = _HELD[full] = (owner, build())
    return cast(_T, held[1])
