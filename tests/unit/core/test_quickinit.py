"""calc.core.quickinit: the quicker __init__ builds exactly what the dataclass's own would."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any

import pytest

from calc.core import assessment, engine, followup, inputs, jsonview, results
from calc.core.quickinit import quick_init


def _quick_classes() -> list[type]:
    found = []
    for module in (results, jsonview, inputs, assessment, followup, engine):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and dataclasses.is_dataclass(value)
                and "_instance_dict" in value.__init__.__code__.co_varnames
            ):
                found.append(value)
    return found


QUICK = _quick_classes()


def _as_dataclasses_would(cls: type, values: dict[str, Any]) -> Any:
    """An instance made the way the frozen dataclass's generated __init__ makes one."""
    obj = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(obj, name, value)
    return obj


def test_the_result_and_response_types_use_it() -> None:
    names = {c.__name__ for c in QUICK}
    # Every result type of calc.core.results, every response type of the API, and the
    # request's own types.
    assert {"Assessment", "MeldReduction", "AssessmentJson", "MeldReductionJson"} <= names
    assert {"PatientInputs", "AssessmentRequest", "FollowupInputs", "_Seen"} <= names
    assert len(QUICK) >= 40, sorted(names)


@pytest.mark.parametrize("cls", QUICK, ids=lambda c: c.__name__)
def test_same_instance_same_signature_still_frozen(cls: type) -> None:
    fs = dataclasses.fields(cls)
    values = {f.name: object() for f in fs}  # a distinct value per field
    by_keyword = cls(**values)
    by_position = cls(*values.values())
    expected = _as_dataclasses_would(cls, values)
    assert vars(by_keyword) == vars(by_position) == vars(expected) == values
    assert list(vars(by_keyword)) == [f.name for f in fs]  # field order: JSON key order
    assert by_keyword == expected
    params = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in params] == [f.name for f in fs]
    assert [p.default for p in params] == [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in fs
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(by_keyword, fs[0].name, None)
    with pytest.raises(TypeError):
        cls(*values.values(), None)  # one argument too many, as before


def test_defaults_are_the_fields_defaults() -> None:
    @quick_init
    @dataclass(frozen=True)
    class WithDefaults:
        a: int
        b: object = None
        c: str = "entered"

    made = WithDefaults(1)
    assert vars(made) == {"a": 1, "b": None, "c": "entered"}
    assert WithDefaults(1, c="labs") == WithDefaults(a=1, b=None, c="labs")
    with pytest.raises(TypeError):
        WithDefaults()  # type: ignore[call-arg]  # a required field is still required


def _not_frozen() -> type:
    @dataclass
    class Plain:
        a: int

    return Plain


def _slotted() -> type:
    @dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    return Slotted


def _post_init() -> type:
    @dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    return Checked


def _factory() -> type:
    @dataclass(frozen=True)
    class Factory:
        a: tuple[int, ...] = field(default_factory=tuple)

    return Factory


def _keyword_only() -> type:
    @dataclass(frozen=True, kw_only=True)
    class KeywordOnly:
        a: int

    return KeywordOnly


def _own_name() -> type:
    @dataclass(frozen=True)
    class OwnName:
        _instance_dict: int

    return OwnName


@pytest.mark.parametrize(
    "make", [_not_frozen, _slotted, _post_init, _factory, _keyword_only, _own_name]
)
def test_what_it_cannot_do_exactly_is_refused(make: Any) -> None:
    with pytest.raises(TypeError, match="quick_init"):
        quick_init(make())
