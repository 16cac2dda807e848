"""The saved-assessment file: the form's inputs, kept by the clinician, not the server.

"Save assessment" downloads this small JSON file; "Open saved assessment"
uploads it and fills the form again, so a clinician can continue at the next
visit without the server ever storing a patient. The file carries a format
version and a checksum of its fields: a file edited by hand, cut short or
written by something else is refused with a message that says why. (The
checksum catches accidents, not a determined forger; every value is validated
again anyway, exactly as if typed.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

FORMAT = "calc-assessment"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 8 * 1024
MAX_VALUE_LENGTH = 64
_TOP_KEYS = {
    "format",
    "format_version",
    "saved_on",
    "app_version",
    "evidence_version",
    "fields",
    "checksum",
}


class SaveFileError(ValueError):
    """The file cannot be opened; the message says why, in words."""


@dataclass(frozen=True)
class SavedAssessment:
    fields: dict[str, str]
    saved_on: str
    app_version: str
    evidence_version: str


def _checksum(fields: Mapping[str, str]) -> str:
    canonical = json.dumps(dict(fields), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dump(
    fields: Mapping[str, str], *, saved_on: date, app_version: str, evidence_version: str
) -> bytes:
    """The file's bytes (UTF-8 JSON). Empty fields are left out."""
    kept = {k: v for k, v in fields.items() if v}
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "saved_on": saved_on.isoformat(),
        "app_version": app_version,
        "evidence_version": evidence_version,
        "fields": kept,
        "checksum": _checksum(kept),
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise SaveFileError(f"This is not a saved assessment: the key {key!r} appears twice.")
        out[key] = value
    return out


def load(data: bytes, allowed_fields: Iterable[str]) -> SavedAssessment:
    """Parse and check a saved file; raise SaveFileError with a clear message."""
    if not data:
        raise SaveFileError("The file is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise SaveFileError(
            f"The file is too large for a saved assessment ({len(data)} bytes; at most "
            f"{MAX_FILE_BYTES})."
        )
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except SaveFileError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SaveFileError("This is not a saved assessment: the file is not JSON.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SaveFileError("This is not a saved assessment of this calculator.")
    version = document.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise SaveFileError(
            f"The file has format version {version!r}; this calculator opens version "
            f"{FORMAT_VERSION}."
        )
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise SaveFileError(f"The file has unexpected entries: {', '.join(unknown)}.")
    fields = document.get("fields")
    if not isinstance(fields, dict):
        raise SaveFileError("The file holds no inputs.")
    allowed = set(allowed_fields)
    for key, value in fields.items():
        if key not in allowed:
            raise SaveFileError(f"The file holds an unknown input {key!r}.")
        if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH:
            raise SaveFileError(f"The input {key!r} in the file is not a short text value.")
    if document.get("checksum") != _checksum(fields):
        raise SaveFileError(
            "The file was changed after it was saved (its checksum does not match). "
            "Enter the values again rather than trusting it."
        )
    texts = {}
    for key in ("saved_on", "app_version", "evidence_version"):
        value = document.get(key)
        if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH:
            raise SaveFileError(f"The file's {key.replace('_', ' ')} is missing or malformed.")
        texts[key] = value
    return SavedAssessment(fields=dict(fields), **texts)
