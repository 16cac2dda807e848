"""The saved-assessment file: the form's inputs, kept by the clinician, not the server.

"Save assessment" downloads this small JSON file; "Open saved assessment"
uploads it and fills the form again, so a clinician can continue at the next
visit without the server ever storing a patient. The file holds the patient
reference and the values entered (``SAVE_NOTICE`` says so on the page); the
clinician's name, printed on the summary only, is not written into it.

Format version 2 carries a checksum of every other entry of the document:
format, version, the time it was saved (date, time and UTC offset), the versions
of the calculator and of the evidence, and the fields. A file edited by hand,
cut short or written by something else is refused with a message that says why.
(The checksum catches accidents, not a determined forger; every value is
validated again anyway, exactly as if typed.)

Version 1 files (saved with a date only, their checksum over the fields alone)
still open: their fields are checked exactly as before, and the notice on opening
says that the saved date of such a file is not covered by its checksum.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .i18n import N_, gettext
from .report import date_words

FORMAT = "calc-assessment"
FORMAT_VERSION = 2
MAX_FILE_BYTES = 8 * 1024
# How much of an upload is read: more than any request the server accepts (16 KiB),
# so the size reported for a file over MAX_FILE_BYTES is its real size.
READ_LIMIT = 64 * 1024
MAX_VALUE_LENGTH = 64
_METADATA = ("app_version", "evidence_version")
_TOP_KEYS = {
    1: {"format", "format_version", "saved_on", *_METADATA, "fields", "checksum"},
    2: {"format", "format_version", "saved_at", *_METADATA, "fields", "checksum"},
}
# What dump() writes: local time to the second with its UTC offset.
_SAVED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
_SAVED_ON = re.compile(r"\d{4}-\d{2}-\d{2}")

SAVE_NOTICE = N_(
    "The saved file contains the patient reference and the values entered: "
    "keep it as you would any patient record."
)


class SaveFileError(ValueError):
    """The file cannot be opened; the message says why, in words."""


@dataclass(frozen=True)
class SavedAssessment:
    fields: dict[str, str]
    format_version: int
    saved_on: date
    saved_at: datetime | None  # None in a version-1 file (a date only)
    app_version: str
    evidence_version: str


def _checksum(covered: Mapping[str, object]) -> str:
    canonical = json.dumps(dict(covered), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def file_name(saved_at: datetime) -> str:
    """A name of its own for each save: date, time and a random suffix, no patient value."""
    return f"calc-assessment-{saved_at:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}.json"


def dump(
    fields: Mapping[str, str], *, saved_at: datetime, app_version: str, evidence_version: str
) -> bytes:
    """The file's bytes (UTF-8 JSON). Empty fields are left out.

    ``saved_at`` must carry its UTC offset (``datetime.now().astimezone()``).
    """
    if saved_at.utcoffset() is None:
        raise ValueError("saved_at needs a UTC offset")
    document: dict[str, object] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "saved_at": saved_at.replace(microsecond=0).isoformat(),
        "app_version": app_version,
        "evidence_version": evidence_version,
        "fields": {k: v for k, v in fields.items() if v},
    }
    document["checksum"] = _checksum(document)
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise SaveFileError(
                gettext("This is not a saved assessment: the key {key} appears twice.").format(
                    key=repr(key)
                )
            )
        out[key] = value
    return out


def _size_text(size: int) -> str:
    if size > READ_LIMIT:
        return gettext("more than {size} bytes").format(size=f"{READ_LIMIT:,}")
    return gettext("{size} bytes").format(size=f"{size:,}")


_ENTRY_WORDS = {
    "saved_at": N_("The file's saved time is missing or malformed."),
    "saved_on": N_("The file's saved date is missing or malformed."),
    "app_version": N_("The file's calculator version is missing or malformed."),
    "evidence_version": N_("The file's evidence version is missing or malformed."),
}


def _text(document: Mapping[str, object], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH:
        raise SaveFileError(gettext(_ENTRY_WORDS[key]))
    return value


def _saved_at(text: str) -> datetime:
    try:
        if not _SAVED_AT.fullmatch(text):
            raise ValueError
        return datetime.fromisoformat(text)
    except ValueError:
        raise SaveFileError(
            gettext("The file's saved time is not a date and time of day.")
        ) from None


def _saved_on(text: str) -> date:
    try:
        if not _SAVED_ON.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise SaveFileError(gettext("The file's saved date is not a calendar date.")) from None


def load(data: bytes, allowed_fields: Iterable[str]) -> SavedAssessment:
    """Parse and check a saved file; raise SaveFileError with a clear message.

    ``data`` is the upload as read, at most ``READ_LIMIT + 1`` bytes: a longer
    file is reported as "more than READ_LIMIT bytes".
    """
    if not data:
        raise SaveFileError(gettext("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise SaveFileError(
            gettext(
                "The file is too large for a saved assessment ({size}; at most {most} bytes)."
            ).format(size=_size_text(len(data)), most=f"{MAX_FILE_BYTES:,}")
        )
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except SaveFileError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SaveFileError(
            gettext("This is not a saved assessment: the file is not JSON.")
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SaveFileError(gettext("This is not a saved assessment of this calculator."))
    version = document.get("format_version")
    if type(version) is not int or version not in _TOP_KEYS:
        raise SaveFileError(
            gettext(
                "The file has format version {version}; this calculator opens versions {versions}."
            ).format(version=repr(version), versions=", ".join(str(v) for v in sorted(_TOP_KEYS)))
        )
    unknown = sorted(set(document) - _TOP_KEYS[version])
    if unknown:
        raise SaveFileError(
            gettext("The file has unexpected entries: {entries}.").format(
                entries=", ".join(unknown)
            )
        )
    fields = document.get("fields")
    if not isinstance(fields, dict):
        raise SaveFileError(gettext("The file holds no inputs."))
    allowed = set(allowed_fields)
    for key, value in fields.items():
        if key not in allowed:
            raise SaveFileError(
                gettext("The file holds an unknown input {key}.").format(key=repr(key))
            )
        if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH:
            raise SaveFileError(
                gettext("The input {key} in the file is not a short text value.").format(
                    key=repr(key)
                )
            )
    # Version 2: every entry but the checksum; version 1: the fields only.
    covered = {k: v for k, v in document.items() if k != "checksum"} if version >= 2 else fields
    if document.get("checksum") != _checksum(covered):
        raise SaveFileError(
            gettext(
                "The file was changed after it was saved (its checksum does not match). Enter the"
                " values again rather than trusting it."
            )
        )
    app_version, evidence_version = (_text(document, key) for key in _METADATA)
    saved_at: datetime | None = None
    if version >= 2:
        saved_at = _saved_at(_text(document, "saved_at"))
        saved_on = saved_at.date()
    else:
        saved_on = _saved_on(_text(document, "saved_on"))
    return SavedAssessment(
        fields=dict(fields),
        format_version=version,
        saved_on=saved_on,
        saved_at=saved_at,
        app_version=app_version,
        evidence_version=evidence_version,
    )


def offset_text(offset: timedelta) -> str:
    """UTC+00:00, UTC+05:30, UTC-03:00."""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def opened_notice(saved: SavedAssessment, evidence_version: str) -> str:
    """What the form says on opening a file: whose it is, and when it was saved."""
    reference = saved.fields.get("patient_ref", "").strip()
    # FSI ... PDI isolate the reference, so right-to-left characters in it cannot
    # reorder the rest of the sentence (Unicode Bidirectional Algorithm, UAX #9).
    if saved.saved_at is not None:
        offset = saved.saved_at.utcoffset() or timedelta(0)
        when = gettext("on {date} at {time} ({offset})").format(
            date=date_words(saved.saved_on),
            time=f"{saved.saved_at:%H:%M}",
            offset=offset_text(offset),
        )
    else:
        when = gettext("on {date}").format(date=date_words(saved.saved_on))
    if reference:
        notice = gettext("Opened the assessment of {reference} saved {when}.").format(
            reference=f"\u2068{reference}\u2069", when=when
        )
    else:
        notice = gettext("Opened the assessment with no patient reference, saved {when}.").format(
            when=when
        )
    if saved.saved_at is None:
        notice += " " + gettext(
            "This file has the older format version {version}: its saved date is not covered by"
            " its checksum."
        ).format(version=saved.format_version)
    if saved.evidence_version != evidence_version:
        notice += " " + gettext(
            "It was saved with evidence {saved}; this calculator uses {current}, so its numbers"
            " may differ."
        ).format(saved=saved.evidence_version, current=evidence_version)
    return notice
