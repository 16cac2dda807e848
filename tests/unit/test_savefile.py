"""The saved-assessment file: round trip, and every way a file is refused."""

from __future__ import annotations

import json
from datetime import date

import pytest

from calc import savefile
from calc.savefile import SaveFileError

ALLOWED = {"failure_type", "meld", "alt", "fu_alt"}
FIELDS = {"failure_type": "ACLF", "meld": "28", "alt": "240", "fu_alt": ""}


def _dump(fields: dict[str, str] = FIELDS) -> bytes:
    return savefile.dump(
        fields, saved_on=date(2026, 1, 10), app_version="0.1.0", evidence_version="ev-1"
    )


def _rewrite(**changes: object) -> bytes:
    document = json.loads(_dump())
    document.update(changes)
    return json.dumps(document).encode()


def test_round_trip_keeps_every_non_empty_field() -> None:
    saved = savefile.load(_dump(), ALLOWED)
    assert saved.fields == {"failure_type": "ACLF", "meld": "28", "alt": "240"}
    assert (saved.saved_on, saved.app_version, saved.evidence_version) == (
        "2026-01-10",
        "0.1.0",
        "ev-1",
    )


def test_the_file_names_its_format_and_version() -> None:
    document = json.loads(_dump())
    assert document["format"] == "calc-assessment"
    assert document["format_version"] == 1
    assert document["checksum"].startswith("sha256:")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a saved assessment"),
        (b'{"format": "other"}', "not a saved assessment"),
        (b"[" * 3000 + b"]" * 3000, "not JSON"),
        (b"x" * (savefile.MAX_FILE_BYTES + 1), "too large"),
        (_rewrite(format_version=2), "format version 2"),
        (_rewrite(format_version=True), "format version True"),
        (_rewrite(extra=1), "unexpected entries: extra"),
        (_rewrite(fields=[1]), "holds no inputs"),
        (_rewrite(fields={"nope": "1"}, checksum="x"), "unknown input 'nope'"),
        (_rewrite(fields={"alt": 240}), "not a short text value"),
        (_rewrite(fields={"alt": "9" * 65}), "not a short text value"),
        (_rewrite(fields={**FIELDS, "alt": "2400"}), "changed after it was saved"),
        (_rewrite(checksum="sha256:00"), "changed after it was saved"),
        (_rewrite(saved_on=None), "saved on is missing"),
        (b'{"format": "calc-assessment", "format": "calc-assessment"}', "appears twice"),
    ],
    ids=[
        "empty",
        "text",
        "not-utf8",
        "array",
        "other-format",
        "deep-nesting",
        "huge",
        "newer-version",
        "bool-version",
        "extra-key",
        "fields-not-object",
        "unknown-field",
        "number-value",
        "long-value",
        "edited-value",
        "edited-checksum",
        "no-date",
        "duplicate-key",
    ],
)
def test_bad_files_are_refused_with_a_reason(data: bytes, words: str) -> None:
    with pytest.raises(SaveFileError) as info:
        savefile.load(data, ALLOWED)
    assert words in str(info.value)
