"""The saved-assessment file: round trip, and every way a file is refused."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from calc.core import savefile
from calc.core.savefile import SaveFileError

ALLOWED = {"failure_type", "meld", "alt", "fu_alt", "patient_ref"}
FIELDS = {"failure_type": "ACLF", "meld": "28", "alt": "240", "fu_alt": "", "patient_ref": "R-1"}
SAVED_AT = datetime(2026, 12, 6, 11, 21, 31, tzinfo=UTC)


def _dump(fields: dict[str, str] = FIELDS, saved_at: datetime = SAVED_AT) -> bytes:
    return savefile.dump(fields, saved_at=saved_at, app_version="0.1.0", evidence_version="ev-1")


def _rewrite(**changes: object) -> bytes:
    """The saved file with entries changed by hand (its checksum left as it was)."""
    document = json.loads(_dump())
    document.update(changes)
    return json.dumps(document).encode()


def _signed(document: dict[str, object]) -> bytes:
    """A document with a checksum that matches it (as dump() would compute it)."""
    covered = {k: v for k, v in document.items() if k != "checksum"}
    return json.dumps({**covered, "checksum": savefile._checksum(covered)}).encode()


def _version_1(fields: dict[str, str] = FIELDS, saved_on: str | None = "2026-01-10") -> bytes:
    """A file as version 1 wrote it: a date only, the checksum over the fields alone."""
    kept = {k: v for k, v in fields.items() if v}
    return json.dumps(
        {
            "format": "calc-assessment",
            "format_version": 1,
            "saved_on": saved_on,
            "app_version": "0.1.0",
            "evidence_version": "ev-1",
            "fields": kept,
            "checksum": savefile._checksum(kept),
        }
    ).encode()


def test_round_trip_keeps_every_non_empty_field_and_the_saved_time() -> None:
    saved = savefile.load(_dump(), ALLOWED)
    assert saved.fields == {
        "failure_type": "ACLF",
        "meld": "28",
        "alt": "240",
        "patient_ref": "R-1",
    }
    assert saved.format_version == 2
    assert saved.saved_at == SAVED_AT and saved.saved_at.utcoffset() == timedelta(0)
    assert saved.saved_on == date(2026, 12, 6)
    assert (saved.app_version, saved.evidence_version) == ("0.1.0", "ev-1")


def test_the_file_names_its_format_version_and_saved_time_with_its_offset() -> None:
    document = json.loads(_dump(saved_at=SAVED_AT.replace(microsecond=123456)))
    assert document["format"] == "calc-assessment"
    assert document["format_version"] == 2
    assert document["saved_at"] == "2026-12-06T11:21:31+00:00"  # to the second
    assert document["checksum"].startswith("sha256:")
    assert "saved_on" not in document


def test_a_saved_time_without_its_utc_offset_is_not_written() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        _dump(saved_at=datetime(2026, 12, 6, 11, 21, 31))


@pytest.mark.parametrize(
    ("entry", "value"),
    [
        ("saved_at", "2026-06-12T11:21:31+00:00"),  # day and month swapped
        ("saved_at", "2026-12-06T11:21:31+05:00"),
        ("app_version", "9.9.9"),
        ("evidence_version", "ev-2"),
    ],
    ids=["saved-at-date", "saved-at-offset", "app-version", "evidence-version"],
)
@pytest.mark.hazard("H-15")
def test_h15_the_checksum_covers_the_saved_time_and_versions(entry: str, value: str) -> None:
    with pytest.raises(SaveFileError, match="changed after it was saved"):
        savefile.load(_rewrite(**{entry: value}), ALLOWED)


@pytest.mark.hazard("H-15")
def test_h15_each_save_has_a_file_name_of_its_own() -> None:
    names = [savefile.file_name(SAVED_AT) for _ in range(3)]
    for name in names:
        assert re.fullmatch(r"calc-assessment-20261206-112131-[0-9a-f]{4}\.json", name), name
    # The same second: only the random suffix tells them apart (never all three alike).
    assert len(set(names)) > 1


@pytest.mark.hazard("H-15")
def test_h15_a_version_1_file_opens_and_says_its_date_is_not_covered() -> None:
    saved = savefile.load(_version_1(), ALLOWED)
    assert saved.format_version == 1 and saved.saved_at is None
    assert saved.saved_on == date(2026, 1, 10)
    assert saved.fields["meld"] == "28"
    notice = savefile.opened_notice(saved, "ev-1")
    assert notice.startswith("Opened the assessment of \u2068R-1\u2069 saved on 10 January 2026.")
    assert "format version 1: its saved date is not covered by its checksum" in notice


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (_version_1(fields={**FIELDS, "alt": "2400"}).replace(b'"2400"', b'"240"'), "changed"),
        (_version_1(saved_on="2026-02-30"), "saved date is not a calendar date"),
        (_version_1(saved_on="10/01/2026"), "saved date is not a calendar date"),
    ],
    ids=["edited-value", "not-a-date", "not-iso"],
)
@pytest.mark.hazard("H-15")
def test_h15_a_version_1_file_is_still_checked(data: bytes, words: str) -> None:
    with pytest.raises(SaveFileError, match=words):
        savefile.load(data, ALLOWED)


@pytest.mark.parametrize(
    ("saved_at", "words"),
    [
        ("2026-12-06T11:21:31+00:00", "Opened the assessment of \u2068R-1\u2069 saved on "
         "6 December 2026 at 11:21 (UTC+00:00)."),
        ("2026-03-05T08:05:00+05:30", "saved on 5 March 2026 at 08:05 (UTC+05:30)."),
        ("2026-03-05T23:59:59-03:00", "saved on 5 March 2026 at 23:59 (UTC-03:00)."),
    ],
    ids=["utc", "east", "west"],
)  # fmt: skip
@pytest.mark.hazard("H-15")
def test_h15_opening_says_whose_file_it_is_and_when_in_words(saved_at: str, words: str) -> None:
    document = json.loads(_dump())
    saved = savefile.load(_signed({**document, "saved_at": saved_at}), ALLOWED)
    notice = savefile.opened_notice(saved, "ev-1")
    assert words in notice
    assert "not covered" not in notice and "evidence" not in notice


@pytest.mark.hazard("H-15")
def test_h15_opening_a_file_without_a_reference_says_so() -> None:
    saved = savefile.load(_dump({**FIELDS, "patient_ref": "  "}), ALLOWED)
    notice = savefile.opened_notice(saved, "ev-1")
    assert notice.startswith("Opened the assessment with no patient reference, saved on 6 Dec")


def test_opening_a_file_of_other_evidence_says_its_numbers_may_differ() -> None:
    notice = savefile.opened_notice(savefile.load(_dump(), ALLOWED), "ev-2")
    assert "saved with evidence ev-1; this calculator uses ev-2" in notice


@pytest.mark.parametrize(
    ("size", "words"),
    [
        (savefile.MAX_FILE_BYTES + 1, "(8,193 bytes; at most 8,192 bytes)"),
        (12_000, "(12,000 bytes; at most 8,192 bytes)"),
        (16_384, "(16,384 bytes;"),
        (savefile.READ_LIMIT + 1, "(more than 65,536 bytes;"),
    ],
)
@pytest.mark.hazard("H-15")
def test_h15_a_file_too_large_is_reported_with_its_real_size(size: int, words: str) -> None:
    with pytest.raises(SaveFileError) as info:
        savefile.load(b"x" * size, ALLOWED)
    assert "too large" in str(info.value) and words in str(info.value)


@pytest.mark.parametrize(
    "saved_at",
    [
        "2026-12-06",
        "2026-12-06T11:21:31",  # no UTC offset
        "2026-12-06T11:21:31Z",
        "2026-13-06T11:21:31+00:00",
        "2026-12-06 11:21:31+00:00",
        "6 December 2026",
    ],
)
def test_a_malformed_saved_time_is_refused(saved_at: str) -> None:
    document = json.loads(_dump())
    with pytest.raises(SaveFileError, match="saved time is not a date and time of day"):
        savefile.load(_signed({**document, "saved_at": saved_at}), ALLOWED)


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
        (_rewrite(format_version=3), "format version 3"),
        (_rewrite(format_version=True), "format version True"),
        (_rewrite(format_version=2.0), "format version 2.0"),
        (_rewrite(format_version=1), "unexpected entries: saved_at"),
        (_rewrite(extra=1), "unexpected entries: extra"),
        (_rewrite(fields=[1]), "holds no inputs"),
        (_rewrite(fields={"nope": "1"}, checksum="x"), "unknown input 'nope'"),
        (_rewrite(fields={"alt": 240}), "not a short text value"),
        (_rewrite(fields={"alt": "9" * 65}), "not a short text value"),
        (_rewrite(fields={**FIELDS, "alt": "2400"}), "changed after it was saved"),
        (_rewrite(checksum="sha256:00"), "changed after it was saved"),
        (_signed({**json.loads(_dump()), "saved_at": None}), "saved time is missing"),
        (_signed({**json.loads(_dump()), "app_version": 1}), "calculator version is missing"),
        (_version_1(saved_on=None), "saved date is missing"),
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
        "float-version",
        "version-1-with-saved-at",
        "extra-key",
        "fields-not-object",
        "unknown-field",
        "number-value",
        "long-value",
        "edited-value",
        "edited-checksum",
        "no-saved-time",
        "app-version-not-text",
        "version-1-no-date",
        "duplicate-key",
    ],
)
def test_bad_files_are_refused_with_a_reason(data: bytes, words: str) -> None:
    with pytest.raises(SaveFileError) as info:
        savefile.load(data, ALLOWED)
    assert words in str(info.value)


def test_the_utc_offset_is_written_as_signed_hours_and_minutes() -> None:
    assert savefile.offset_text(timedelta(0)) == "UTC+00:00"
    assert savefile.offset_text(timezone(timedelta(hours=-9, minutes=-30)).utcoffset(None)) == (
        "UTC-09:30"
    )


@pytest.mark.hazard("H-15")
def test_h15_the_reference_in_the_open_notice_is_isolated_from_the_sentence() -> None:
    # A right-to-left reference (Hebrew letters, then digits) must not reorder the words
    # around it: first strong isolate (U+2068) ... pop directional isolate (U+2069).
    fields = {**FIELDS, "patient_ref": "מטופל-12"}
    notice = savefile.opened_notice(savefile.load(_dump(fields), ALLOWED), "ev-1")
    assert notice.startswith("Opened the assessment of \u2068מטופל-12\u2069 saved on ")
