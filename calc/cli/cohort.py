"""Cohort mode: assess every patient of a CSV file at once (``calc cohort``).

One row per patient in; the same row out, with every number of the assessment
appended at full precision (a cell a spreadsheet would read as a formula gets a
leading ``'``: :func:`_defuse`). The numbers are computed with numpy
over whole columns, yet equal the single-patient engine's bit for bit: the
same arithmetic in the same order; the per-failure-type constants (pooled
mean and spread, the intervals the evidence supports) taken from
:func:`calc.core.engine.assess` itself, run once per type; and MELD after MSCT as
the engine's exact decimal subtraction ``(baseline·10^d − round(mean·10^d)) /
10^d``. A test compares the two on thousands of random rows with ``==``.

Validation is the engine's too. Type, units, baseline MELD and transplant
date take few distinct values: each distinct text is checked once by
:func:`calc.core.inputs.validate_inputs` (with the row's other fields valid), and
plain ``YYYY-MM-DD`` dates are read with numpy. ALT and TBIL that are short
ASCII plain decimals inside their unit's range are read with numpy (exactly
as ``float`` reads them); any other text goes to validate_inputs, so a refused
value gets its message, and a value it accepts in another spelling
(``" 240"``) is accepted here too.

MELD from labs: the optional ``labs_<field>`` columns are the API's ``labs``
object, and each row is validated as :func:`calc.core.assessment.validate_request`
validates it (same rules, messages keyed ``labs.<field>``): each distinct unit,
dialysis or sex text checked once by :func:`calc.core.meld.validate_labs`, plain
decimals inside their range read with numpy, anything else checked by
validate_labs. The three scores are computed in float64; the few rows whose
unrounded score lies within ROUNDING_MARGIN of a rounding tie are recomputed by
:func:`calc.core.meld.compute_meld`, so every score equals the engine's exactly.

The file is read by :mod:`calc.cli.csvread` in blocks of whole records (4 MiB,
about 80,000 rows) exactly as Python's csv module reads it (RFC 4180), split
into cells with numpy where that is exact, and written block by block: memory
stays bounded whatever the length of the file. Pure apart from file I/O: no Flask.
"""

from __future__ import annotations

import csv
import gc
import io
import os
import re
import sys
import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import accumulate, islice
from pathlib import Path
from typing import IO, Any, Final, cast

import click
import numpy as np
import numpy.typing as npt

from ..core import meld as _meld
from ..core import rules
from ..core.assessment import LAB_FIELD_ORDER, LAB_VALUE_FIELDS
from ..core.evidence import Evidence, EvidenceError, FailureType, load_evidence
from ..core.fields import BY_API, FIELDS
from ..core.i18n import N_, gettext
from ..core.inputs import (
    ALT_RANGES,
    DATE_HIGH,
    DATE_LOW,
    MELD_RANGE,
    TBIL_RANGES,
    AltUnit,
    InputError,
    PatientInputs,
    Range,
    TbilUnit,
    alt_to_u_l,
    is_plain_decimal,
    tbil_to_umol_l,
    validate_inputs,
)
from ..core.meld import (
    ALBUMIN_RANGES,
    BILIRUBIN_RANGES,
    CREATININE_RANGES,
    INR_RANGE,
    SODIUM_RANGE,
    AlbuminUnit,
    CreatinineUnit,
    LabInputs,
    Sex,
    albumin_to_g_dl,
    bilirubin_to_mg_dl,
    compute_meld,
    creatinine_to_mg_dl,
    validate_labs,
)
from ..version import __version__
from . import clickwords
from .csvread import CsvFileError, CsvReader, Grid, Records, check_text
from .main import _Command, _opt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]
AnyArray = npt.NDArray[Any]

# --------------------------------------------------------------------------
# Columns

#: Input columns the engine reads: the field table's cohort names (calc.core.fields).
INPUT_FIELDS: Final = tuple(
    f.cohort for f in FIELDS if f.cohort is not None and not f.api.startswith("labs.")
)
REQUIRED_FIELDS: Final = ("failure_type", "meld", "alt", "tbil")
# The order in which calc.core.inputs.validate_inputs checks the fields (and lists its errors).
_CHECK_ORDER: Final = (
    "failure_type",
    "meld",
    "alt_unit",
    "tbil_unit",
    "alt",
    "tbil",
    "transplant_date",
)
#: The kinds of range the engine can give (calc.core.results.RangeEstimate.kind).
RANGE_KINDS: Final = rules.RANGE_KINDS

_MELD_BLOCK: Final = (
    "warnings",
    "evidence_version",
    "context_evidence_version",
    "calc_version",
    "baseline_stratum",
    "mean_decrease",
    "reported_spread",
    "spread_kind",
    "expected_meld_after",
    "expected_meld_after_unbounded",
    "bounded_at_floor",
    *(
        f"{kind}_{part}"
        for kind in RANGE_KINDS
        for part in ("low", "high", "meld_after_low", "meld_after_high")
    ),
    "tbil_informative",
    "pooled_tbil_umol_l",
    "alt_check_day",
    "tbil_check_days",
)
_ALT_BLOCK: Final = ("alt_u_l",)
_TBIL_BLOCK: Final = ("tbil_umol_l",)
_DATE_BLOCK: Final = ("alt_check_date", "tbil_check_dates")
#: Columns added after the input columns, in this order.
OUTPUT_COLUMNS: Final = ("error", *_MELD_BLOCK, *_ALT_BLOCK, *_TBIL_BLOCK, *_DATE_BLOCK)

WARNING_CODES: Final = rules.WARNING_CODES

#: MELD from labs: ``labs_<field>`` holds the API's ``labs.<field>`` (calc.core.assessment).
LAB_FIELDS: Final = LAB_FIELD_ORDER
LAB_COLUMNS: Final = tuple(BY_API[f"labs.{f}"].cohort or "" for f in LAB_FIELDS)
# The order in which calc.core.meld.validate_labs checks the labs (and lists its errors).
_LAB_CHECK_ORDER: Final = (
    "bilirubin_unit",
    "bilirubin",
    "inr",
    "creatinine_unit",
    "creatinine",
    "dialysis",
    "sodium",
    "albumin_unit",
    "albumin",
    "sex",
)
# A row gives labs when one of these cells holds a value, as the form decides; unit,
# dialysis and sex cells filled down a whole column do not count.
_LAB_VALUES: Final = LAB_VALUE_FIELDS
# With any lab column, these must be columns too (else every row with labs is refused) ...
_LAB_REQUIRED: Final = ("labs_inr", "labs_creatinine", "labs_creatinine_unit", "labs_dialysis")
# ... and a value column comes with its unit column (units have no default: calc.core.meld).
_LAB_PAIRS: Final = tuple(
    (column, f"{column}_unit") for column in LAB_COLUMNS if f"{column}_unit" in LAB_COLUMNS
)
#: Columns added after OUTPUT_COLUMNS when the input has lab columns.
LAB_OUTPUT_COLUMNS: Final = (
    "meld_used",
    "meld_source",
    "labs_meld",
    "labs_meld_na",
    "labs_meld_3_0",
)

FAILURE_TYPES: Final = tuple(FailureType)
ALT_UNITS: Final = tuple(AltUnit)
TBIL_UNITS: Final = tuple(TbilUnit)
CREATININE_UNITS: Final = tuple(CreatinineUnit)
ALBUMIN_UNITS: Final = tuple(AlbuminUnit)
DEFAULT_BLOCK_BYTES: Final = 4 << 20  # read 4 MiB at a time (~80,000 rows)
_WRITE_ROWS: Final = 8192

_NEEDS_QUOTES = re.compile(r'[",\r\n]')
# Where a cell of a record written by csv.writer may begin with a formula character
# (_FORMULA_START): at a line start or after a comma, maybe after an opening quote (a
# cell holding a CR is always quoted; a CR after a comma is the line end's).
_FORMULA_CELL: Final = re.compile(r'(?:^|,)(?:"[=+\-@\t\r]|[=+\-@\t])', re.MULTILINE)
# A spreadsheet reads a cell beginning with one of these as a formula (OWASP, "CSV
# Injection"): such an output cell gets a leading "'", unless it is a plain number.
_FORMULA_START: Final = "=+-@\t\r"
_FORMULA_BYTE: Final = np.zeros(256, bool)
_FORMULA_BYTE[list(_FORMULA_START.encode("ascii"))] = True
_SHORT_CELL: Final = 24  # bytes: a signed cell up to this long is checked as a number directly


class CohortFileError(ValueError):
    """The file as a whole cannot be assessed (no header, a missing column, not UTF-8)."""


# --------------------------------------------------------------------------
# The vectorised assessment


@dataclass(frozen=True)
class CohortInputs:
    """Validated patients as columns, in the engine's canonical units.

    ``failure_type`` indexes :data:`FAILURE_TYPES`; ``transplant_date`` is NaT
    where no date was given.
    """

    failure_type: IntArray
    meld: IntArray
    alt_u_l: FloatArray
    tbil_umol_l: FloatArray
    transplant_date: DateArray
    labs_meld: IntArray | None = None  # classic MELD of the labs; 0: no labs
    meld_from_labs: BoolArray | None = None  # the MELD used is the labs' (none was typed)


def assess_cohort(inputs: CohortInputs, evidence: Evidence) -> dict[str, AnyArray]:
    """Assess every row at once: column name -> array (NaN / NaT where the engine has None).

    The rules are calc.core.rules', the engine's own, applied to whole columns.
    Every row must hold valid inputs (a row of placeholders is fine: the caller
    blanks rows it refused).
    """
    t = rules.type_table(evidence)
    ft, meld = inputs.failure_type, inputs.meld
    n = ft.shape[0]
    available = t.available[ft]

    unbounded, after = rules.expected_meld_after(t, ft, meld)
    out: dict[str, AnyArray] = {
        "mean_decrease": t.mean[ft],
        "reported_spread": t.spread[ft],
        "spread_kind": t.spread_kind[ft],
        "expected_meld_after": after,
        "expected_meld_after_unbounded": unbounded,
        "bounded_at_floor": rules.at_floor(unbounded),
    }
    for kind in RANGE_KINDS:
        out[f"{kind}_low"] = t.range_low[kind][ft]
        out[f"{kind}_high"] = t.range_high[kind][ft]
        low, high = rules.range_meld_after(t, ft, meld, kind)
        out[f"{kind}_meld_after_low"] = low
        out[f"{kind}_meld_after_high"] = high

    # The stratum: none for a type without an estimate (ALF, SALF).
    threshold = t.threshold
    labels = np.array(["", f"<{threshold:g}", f">={threshold:g}"], dtype=object)
    high_group = rules.high_stratum(t, meld)
    out["baseline_stratum"] = labels[np.where(available, 1 + high_group.astype(np.intp), 0)]

    # Markers.
    tbil = inputs.tbil_umol_l
    out["alt_u_l"] = inputs.alt_u_l
    out["tbil_umol_l"] = tbil
    out["tbil_informative"] = rules.tbil_informative(t, tbil)
    out["pooled_tbil_umol_l"] = np.full(n, t.pooled_tbil_umol_l)
    out["alt_check_day"] = np.full(n, evidence.alt.check_day, np.int64)
    out["tbil_check_days"] = np.full(n, ";".join(map(str, evidence.tbil.check_days)), object)
    start = inputs.transplant_date.astype("datetime64[D]")
    out["alt_check_date"] = start + np.timedelta64(evidence.alt.check_day, "D")
    out["tbil_check_dates"] = np.stack(
        [start + np.timedelta64(d, "D") for d in evidence.tbil.check_days], axis=1
    )

    # Warnings, as bits in rules.WARNING_CODES order.
    flags = rules.warning_flags(
        t,
        ft,
        meld,
        inputs.alt_u_l,
        tbil,
        labs_meld=0 if inputs.labs_meld is None else inputs.labs_meld,
        meld_entered=True if inputs.meld_from_labs is None else ~inputs.meld_from_labs,
    )
    bits = np.zeros(n, np.intp)
    for i, flag in enumerate(flags):
        bits |= np.broadcast_to(flag, (n,)).astype(np.intp) << i
    table = np.array(
        [
            ";".join(c for i, c in enumerate(WARNING_CODES) if key >> i & 1)
            for key in range(_WARNING_KEYS)
        ],
        dtype=object,
    )
    out["warnings"] = table[bits]
    out["evidence_version"] = np.full(n, evidence.evidence_version, object)
    # The controlled evidence is not used in any column; its version names what the
    # single-patient outputs showed beside them (empty when none was loaded).
    context_version = evidence.context.evidence_version if evidence.context else ""
    out["context_evidence_version"] = np.full(n, context_version, object)
    out["calc_version"] = np.full(n, __version__, object)
    # Not a column: with the failure type and the MELD, the key of the MELD block
    # (the warnings also depend on ALT and TBIL, through the plausibility checks).
    out["warning_bits"] = bits
    return out


#: Distinct values of calc.cli.cohort.assess_cohort's ``warning_bits``.
_WARNING_KEYS: Final = 1 << len(WARNING_CODES)


# --------------------------------------------------------------------------
# Cells: the text of one column as byte spans of the file (no Python string per cell)

U8Array = npt.NDArray[np.uint8]
_NAT: Final = np.iinfo(np.int64).min  # datetime64's "not a time"
_POW10: Final = np.array([float(10**k) for k in range(16)])  # exact
_DAYS_IN_MONTH: Final = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_EPOCH: Final = date(1970, 1, 1)


@dataclass(frozen=True)
class _Cells:
    """Cell ``i`` of a column is ``data[start[i] : start[i] + length[i]]`` (UTF-8)."""

    data: bytes
    buf: U8Array
    start: IntArray
    length: IntArray

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> _Cells:
        encoded = [t.encode("utf-8") for t in texts]
        length = np.array([len(e) for e in encoded], dtype=np.int64)
        data = b"".join(encoded)
        return cls(data, np.frombuffer(data, np.uint8), np.cumsum(length) - length, length)

    def text(self, i: int) -> str:
        start = int(self.start[i])
        return self.data[start : start + int(self.length[i])].decode("utf-8")

    def gather(self, width: int) -> U8Array:
        """The first ``width`` bytes of every cell, zero-padded: shape (rows, width)."""
        padded = np.concatenate([self.buf, np.zeros(width, np.uint8)])
        out: U8Array = np.lib.stride_tricks.sliding_window_view(padded, width)[self.start]
        out[np.arange(width) >= self.length[:, None]] = 0
        return out


def _distinct(cells: _Cells) -> tuple[IntArray, list[str]]:
    """Factorise a column: each row's index into the list of distinct texts."""
    n = cells.length.size
    if n == 0:
        return np.zeros(0, np.int64), []
    if int(cells.length.max()) <= 7:  # short cells: 7 bytes and the length in one uint64
        b = cells.gather(8)
        b[:, 7] = cells.length
        key = b.view(np.uint64).reshape(n)
        _, first, codes = np.unique(key, return_index=True, return_inverse=True)
    else:
        seen: dict[bytes, int] = {}
        raw = [
            cells.data[s : s + m]
            for s, m in zip(cells.start.tolist(), cells.length.tolist(), strict=True)
        ]
        firsts = np.array(list(map(seen.setdefault, raw, range(n))), dtype=np.int64)
        _, first, codes = np.unique(firsts, return_index=True, return_inverse=True)
    return codes.reshape(n).astype(np.int64), [cells.text(i) for i in first.tolist()]


def _plain_decimals(cells: _Cells) -> FloatArray:
    """Each cell as a float where it is a short ASCII plain decimal; NaN elsewhere.

    Plain: ``[+-]?(digits[.digits]|.digits)``, at most 16 characters and 15
    digits. Then ``mantissa / 10**decimals`` divides two exactly represented
    numbers, so IEEE division gives the correctly rounded value: the same float
    as ``float(text)`` and ``float(Decimal(text))``.
    """
    n = cells.length.size
    longest = 16
    width = min(int(cells.length.max()), longest) if n else 0
    if width == 0:  # no rows, or only empty cells
        return np.full(n, np.nan)
    b = cells.gather(width)
    digit = (b - 48) < 10  # uint8: bytes below "0" wrap round to large values
    dot = b == 46
    sign = np.zeros_like(digit)
    sign[:, 0] = (b[:, 0] == 43) | (b[:, 0] == 45)
    n_digits = digit.sum(axis=1)
    ok = (
        (cells.length <= longest)
        & ((digit | dot | sign).sum(axis=1) == cells.length)  # padding counts as nothing
        & (dot.sum(axis=1) <= 1)
        & (n_digits >= 1)
        & (n_digits <= 15)
    )
    mantissa = np.zeros(n, np.int64)
    for k in range(width):  # integer overflow in rows that are not ok is harmless
        mantissa = np.where(digit[:, k], mantissa * 10 + (b[:, k] - 48), mantissa)
    has_dot = dot.any(axis=1)
    decimals = np.where(has_dot, cells.length - 1 - dot.argmax(axis=1), 0)
    value = mantissa / _POW10[np.clip(decimals, 0, 15)]
    value = np.where(b[:, 0] == 45, -value, value)
    return np.where(ok, value, np.nan)


def _iso_days(cells: _Cells) -> tuple[IntArray, BoolArray]:
    """Days since 1970 of plain ``YYYY-MM-DD`` dates inside the allowed range (NaT elsewhere),
    and which rows are settled: such a date, or an empty cell (no date)."""
    d = cells.gather(10).astype(np.int64) - 48
    digits = d[:, [0, 1, 2, 3, 5, 6, 8, 9]]
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 5] * 10 + d[:, 6]
    day = d[:, 8] * 10 + d[:, 9]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    days_in_month = _DAYS_IN_MONTH[np.where(month_ok, month, 1) - 1] + (leap & (month == 2))
    ok = (
        (cells.length == 10)
        & ((digits >= 0) & (digits <= 9)).all(axis=1)
        & (d[:, 4] == 45 - 48)
        & (d[:, 7] == 45 - 48)
        & month_ok
        & (day >= 1)
        & (day <= days_in_month)
    )
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0)
    days = months.astype("datetime64[M]").astype("datetime64[D]").view(np.int64) + day - 1
    ok &= (days >= (DATE_LOW - _EPOCH).days) & (days <= (DATE_HIGH - _EPOCH).days)
    return np.where(ok, days, _NAT), ok | (cells.length == 0)


def _inside_every_unit(ranges: Mapping[Any, Range]) -> str:
    """A value valid in every unit of a measure (so that checking a unit checks only it)."""
    value = max(r.low for r in ranges.values())
    assert all(r.contains(value) for r in ranges.values())
    return repr(value)


# The other fields of a row whose one field is checked by validate_inputs: all valid.
_FILLER: Final[dict[str, str]] = {
    "failure_type": FAILURE_TYPES[0].value,
    "meld": repr(MELD_RANGE.low),
    "alt": _inside_every_unit(ALT_RANGES),
    "alt_unit": ALT_UNITS[0].value,
    "tbil": _inside_every_unit(TBIL_RANGES),
    "tbil_unit": TBIL_UNITS[0].value,
}
Messages = tuple[str, ...]


def _check(field: str, text: str | None, **context: str) -> PatientInputs | Messages:
    """``validate_inputs`` on one field (others valid): the inputs, or that field's messages.

    Whatever validate_inputs decides for a text, the cohort decides too, in its words.
    """
    raw: dict[str, object] = {**_FILLER, **context, field: text}
    if text is None:
        del raw[field]  # an absent optional column: the field is absent
    try:
        return validate_inputs(raw, allow_text=True)
    except InputError as exc:
        if set(exc.errors) != {field}:  # pragma: no cover - the filler is valid
            raise
        return tuple(exc.errors[field])


def _parse_measure(
    field: str,
    cells: _Cells,
    unit: IntArray,
    units: Sequence[StrEnum],
    ranges: Mapping[Any, Range],
    canonical: Callable[[PatientInputs], float],
    to_canonical: Callable[[float, Any], float],
    entered: Callable[[PatientInputs], float],
) -> tuple[FloatArray, FloatArray, dict[int, Messages]]:
    """ALT or TBIL -> value in the canonical unit and as entered (NaN if refused), and
    row -> messages.

    Plain decimals inside the unit's range are accepted here (validate_inputs
    accepts them whatever else it checks); every other text goes to
    validate_inputs. Rows whose unit was refused (``unit < 0``) are not
    checked, as in validate_inputs.
    """
    value = _plain_decimals(cells)
    has_unit = unit >= 0
    u = np.where(has_unit, unit, 0)
    lows = np.array([ranges[x].low for x in units])
    highs = np.array([ranges[x].high for x in units])
    ok = has_unit & (value >= lows[u]) & (value <= highs[u])  # NaN compares False
    factor = np.array([to_canonical(1.0, x) for x in units])  # x * 1.0 == x exactly
    as_entered = np.where(ok, value, np.nan)
    value = np.where(ok, value * factor[u], np.nan)
    errors: dict[int, Messages] = {}
    cache: dict[tuple[str, int], PatientInputs | Messages] = {}
    for i in np.flatnonzero(has_unit & ~ok).tolist():
        key = (cells.text(i), int(u[i]))
        if key not in cache:
            cache[key] = _check(field, key[0], **{f"{field}_unit": units[key[1]].value})
        result = cache[key]
        if isinstance(result, PatientInputs):
            value[i] = canonical(result)
            as_entered[i] = entered(result)
        else:
            errors[i] = result
    return value, as_entered, errors


@dataclass(frozen=True)
class ParsedRows:
    """Validated columns (placeholders where a row was refused) and each row's error."""

    inputs: CohortInputs
    valid: BoolArray
    errors: list[str]  # "" for a valid row; else the message of validate_inputs
    labs: LabScores | None = None  # when the input has lab columns


def parse_rows(
    columns: Mapping[str, Sequence[str]], row_errors: Mapping[int, str] | None = None
) -> ParsedRows:
    """Validate text columns as ``validate_inputs(row, allow_text=True)`` validates one row.

    ``columns`` maps input field names to their cells; a missing optional column
    is an absent field (default unit, no date). ``row_errors`` marks rows refused
    as a whole (a wrong number of cells).
    """
    cells = {name: _Cells.from_texts(texts) for name, texts in columns.items()}
    return _parse_cells(cells, len(columns["failure_type"]), row_errors or {})


def _categorical(
    field: str,
    cells: _Cells | None,
    n: int,
    read: Callable[[PatientInputs], object],
    table: Sequence[object],
    errors: dict[str, dict[int, Messages]],
) -> IntArray:
    """A field with few distinct texts: each checked once; each row's index into ``table``
    (-1 where refused, with the messages in ``errors[field]``)."""
    texts: Sequence[str | None] = [None]  # an absent optional column
    codes = np.zeros(n, np.int64)
    if cells is not None:
        codes, texts = _distinct(cells)
    results = [_check(field, t) for t in texts]
    index = np.array(
        [table.index(read(r)) if isinstance(r, PatientInputs) else -1 for r in results], np.int64
    )
    per_row = index[codes]
    refused = np.flatnonzero(per_row < 0)
    if refused.size:
        messages = cast("list[Messages]", results)
        errors[field] = {i: messages[int(codes[i])] for i in refused.tolist()}
    return per_row


_MELDS: Final = tuple(range(int(MELD_RANGE.low), int(MELD_RANGE.high) + 1))


def _parse_cells(cells: Mapping[str, _Cells], n: int, row_errors: Mapping[int, str]) -> ParsedRows:
    errors: dict[str, dict[int, Messages]] = {}

    def ft_of(p: PatientInputs) -> object:
        return p.failure_type

    def meld_of(p: PatientInputs) -> object:
        return p.meld

    def alt_unit_of(p: PatientInputs) -> object:
        return p.alt_unit

    def tbil_unit_of(p: PatientInputs) -> object:
        return p.tbil_unit

    ft = _categorical("failure_type", cells["failure_type"], n, ft_of, FAILURE_TYPES, errors)
    meld_index = _categorical("meld", cells.get("meld"), n, meld_of, _MELDS, errors)
    alt_unit = _categorical("alt_unit", cells.get("alt_unit"), n, alt_unit_of, ALT_UNITS, errors)
    tbil_unit = _categorical(
        "tbil_unit", cells.get("tbil_unit"), n, tbil_unit_of, TBIL_UNITS, errors
    )
    alt, _, errors["alt"] = _parse_measure(
        "alt", cells["alt"], alt_unit, ALT_UNITS, ALT_RANGES, _alt_u_l, alt_to_u_l, _alt_entered
    )
    tbil, tbil_entered, errors["tbil"] = _parse_measure(
        "tbil",
        cells["tbil"],
        tbil_unit,
        TBIL_UNITS,
        TBIL_RANGES,
        _tbil_umol_l,
        tbil_to_umol_l,
        _tbil_entered,
    )

    days = np.full(n, _NAT, np.int64)
    if "transplant_date" in cells:
        date_cells = cells["transplant_date"]
        days, settled = _iso_days(date_cells)
        date_errors: dict[int, Messages] = {}
        cache: dict[str, PatientInputs | Messages] = {}
        for i in np.flatnonzero(~settled).tolist():
            text = date_cells.text(i)
            if text not in cache:
                cache[text] = _check("transplant_date", text)
            result = cache[text]
            if not isinstance(result, PatientInputs):
                date_errors[i] = result
            elif result.transplant_date is not None:
                days[i] = (result.transplant_date - _EPOCH).days
        errors["transplant_date"] = date_errors

    meld_ok = meld_index >= 0
    labs: _Labs | None = None
    if any(c in cells for c in LAB_COLUMNS):
        labs = _parse_labs(cells, n, tbil_entered, tbil_unit)
        # calc.core.assessment.validate_request: a blank MELD with labs is the labs' classic
        # MELD; if the labs are refused, their messages say why, with no MELD message.
        meld_cells = cells.get("meld")
        blank_meld = ~_filled(meld_cells, n) if meld_cells is not None else np.ones(n, bool)
        from_labs = labs.given & blank_meld
        meld_ok = meld_ok | from_labs
        errors["meld"] = {i: m for i, m in errors.get("meld", {}).items() if not from_labs[i]}
        meld_index = np.where(from_labs, labs.meld - _MELDS[0], meld_index)

    valid = (ft >= 0) & meld_ok & ~np.isnan(alt) & ~np.isnan(tbil)
    if labs is not None:
        valid &= ~labs.given | labs.valid
    valid[list(row_errors)] = False
    valid[list(errors["transplant_date"]) if "transplant_date" in errors else []] = False
    messages = [""] * n
    for i in np.flatnonzero(~valid).tolist():
        if i in row_errors:
            messages[i] = row_errors[i]
            continue
        # InputError's own text: the labs' fields first, in the order validate_labs
        # checks them, then the others in the order validate_inputs checks them.
        found: dict[str, list[str]] = {}
        if labs is not None:
            found = {
                f"labs.{f}": list(labs.errors[f][i])
                for f in _LAB_CHECK_ORDER
                if i in labs.errors.get(f, {})
            }
        found.update({f: list(errors[f][i]) for f in _CHECK_ORDER if i in errors.get(f, {})})
        messages[i] = str(InputError(found))

    meld = np.array(_MELDS, np.int64)[np.where(valid, meld_index, 0)]
    scores: LabScores | None = None
    labs_meld = source_labs = None
    if labs is not None:
        given = valid & labs.given
        source_labs = valid & from_labs
        labs_meld = np.where(given, labs.meld, 0)
        scores = LabScores(
            given=given,
            meld_from_labs=source_labs,
            meld=np.where(given, labs.meld, 0),
            meld_na=np.where(given, labs.meld_na, 0),
            meld_3_0=np.where(given, labs.meld_3_0, 0),
        )
    inputs = CohortInputs(
        failure_type=np.where(valid, ft, 0),
        meld=meld,
        alt_u_l=np.where(valid, alt, 1.0),
        tbil_umol_l=np.where(valid, tbil, 1.0),
        transplant_date=np.where(valid, days, _NAT).view("datetime64[D]"),
        labs_meld=labs_meld,
        meld_from_labs=source_labs,
    )
    return ParsedRows(inputs=inputs, valid=valid, errors=messages, labs=scores)


def _alt_u_l(p: PatientInputs) -> float:
    return p.alt_u_l


def _tbil_umol_l(p: PatientInputs) -> float:
    return p.tbil_umol_l


def _alt_entered(p: PatientInputs) -> float:
    return p.alt_entered


def _tbil_entered(p: PatientInputs) -> float:
    return p.tbil_entered


# --------------------------------------------------------------------------
# MELD from labs: validate_labs' checks, and the three scores over whole columns


@dataclass(frozen=True)
class LabScores:
    """The MELD scores of the rows that gave labs (0 where a score is not computed)."""

    given: BoolArray  # valid rows with labs
    meld_from_labs: BoolArray  # valid rows whose MELD is the labs' (meld_source "labs")
    meld: IntArray  # classic MELD, capped at 40
    meld_na: IntArray
    meld_3_0: IntArray


@dataclass(frozen=True)
class _Labs:
    given: BoolArray  # the row gives labs (one lab value cell holds a value)
    valid: BoolArray  # ... and validate_labs accepts them
    errors: dict[str, dict[int, Messages]]  # lab field -> row -> messages
    meld: IntArray  # where valid (and the TBIL, when it is the bilirubin, valid); else 0
    meld_na: IntArray
    meld_3_0: IntArray


# The other labs of a row whose one lab is checked by validate_labs: all valid.
_LAB_FILLER: Final[dict[str, str]] = {
    "bilirubin": _inside_every_unit(BILIRUBIN_RANGES),
    "bilirubin_unit": TBIL_UNITS[0].value,
    "inr": repr(INR_RANGE.low),
    "creatinine": _inside_every_unit(CREATININE_RANGES),
    "creatinine_unit": CREATININE_UNITS[0].value,
    "dialysis": "no",
}
_ALBUMIN_FILLER: Final = _inside_every_unit(ALBUMIN_RANGES)
_SEXES: Final = (None, Sex.FEMALE, Sex.MALE)
_DIALYSIS: Final = (False, True)


def _check_lab(field: str, text: str | None, **context: str) -> LabInputs | Messages:
    """``validate_labs`` on one lab (others valid): the labs, or that lab's messages."""
    raw: dict[str, object] = {**_LAB_FILLER, **context, field: text}
    if text is None:
        del raw[field]  # a blank cell: the field is left out of the labs object
    try:
        return validate_labs(raw, allow_text=True)
    except InputError as exc:
        if set(exc.errors) != {field}:  # pragma: no cover - the filler is valid
            raise
        return tuple(exc.errors[field])


def _filled(cells: _Cells | None, n: int) -> BoolArray:
    """Cells that are not blank (``text.strip()`` not empty, as the API's blank)."""
    if cells is None:
        return np.zeros(n, bool)
    filled = cells.length > 0
    if cells.buf.size:
        first = cells.buf[np.minimum(cells.start, cells.buf.size - 1)]
        for i in np.flatnonzero(filled & ((first <= 32) | (first >= 128))).tolist():
            filled[i] = bool(cells.text(i).strip())  # blanks, or non-ASCII: Python decides
    return filled


def _lab_choice(
    field: str,
    cells: _Cells | None,
    n: int,
    read: Callable[[LabInputs], object],
    table: Sequence[object],
    context: Mapping[str, str],
) -> tuple[IntArray, IntArray, list[LabInputs | Messages]]:
    """A lab with few distinct texts (a unit, dialysis, sex): each checked once. Each
    row's index into ``table`` (-1: refused), its text's code and each text's result."""
    texts: Sequence[str | None] = [None]
    codes = np.zeros(n, np.int64)
    if cells is not None:
        codes, texts = _distinct(cells)
    results = [
        _check_lab(field, t if t is not None and t.strip() else None, **context) for t in texts
    ]
    index = np.array(
        [table.index(read(r)) if isinstance(r, LabInputs) else -1 for r in results], np.int64
    )
    return index[codes], codes, results


def _lab_value(
    field: str,
    cells: _Cells | None,
    rows: BoolArray,
    unit: IntArray | None,
    units: Sequence[StrEnum],
    ranges: Sequence[Range],
    read: Callable[[LabInputs], float],
) -> tuple[FloatArray, dict[int, Messages]]:
    """A lab value as entered, for ``rows`` (NaN elsewhere and where refused), and
    row -> messages. Plain decimals inside the unit's range are accepted here; every
    other text (a blank cell: left out) goes to validate_labs. Rows whose unit was
    refused are not checked, as in validate_labs."""
    n = rows.size
    value = _plain_decimals(cells) if cells is not None else np.full(n, np.nan)
    u = np.zeros(n, np.int64) if unit is None else unit
    check = rows & (u >= 0)
    uu = np.where(check, u, 0)
    lows = np.array([r.low for r in ranges])
    highs = np.array([r.high for r in ranges])
    ok = check & (value >= lows[uu]) & (value <= highs[uu])  # NaN compares False
    value = np.where(ok, value, np.nan)
    errors: dict[int, Messages] = {}
    cache: dict[tuple[str | None, int], LabInputs | Messages] = {}
    for i in np.flatnonzero(check & ~ok).tolist():
        text = cells.text(i) if cells is not None else None
        key = (text if text is not None and text.strip() else None, int(uu[i]))
        if key not in cache:
            context = {} if unit is None else {f"{field}_unit": units[key[1]].value}
            cache[key] = _check_lab(field, key[0], **context)
        result = cache[key]
        if isinstance(result, LabInputs):
            value[i] = read(result)
        else:
            errors[i] = result
    return value, errors


def _entered_unit(q: _meld.Quantity | None) -> str | None:
    return None if q is None else q.unit


def _parse_labs(
    cells: Mapping[str, _Cells], n: int, tbil_entered: FloatArray, tbil_unit: IntArray
) -> _Labs:
    """The ``labs_`` cells as calc.core.assessment.validate_request reads a labs object.

    A row gives labs when a lab value cell is not blank; its labs object is then
    every non-blank ``labs_`` cell (a blank cell is a field left out). Without a
    bilirubin, the bilirubin is the TBIL in its own unit, and its errors are the
    TBIL's (reported under ``tbil``, not here).
    """
    col = {f: cells.get(f"labs_{f}") for f in LAB_FIELDS}
    filled = {f: _filled(col[f], n) for f in LAB_FIELDS}
    given = np.zeros(n, bool)
    for f in _LAB_VALUES:
        given |= filled[f]
    errors: dict[str, dict[int, Messages]] = {}

    def choice(
        field: str,
        applies: BoolArray,
        read: Callable[[LabInputs], object],
        table: Sequence[object],
        **context: str,
    ) -> IntArray:
        per_row, codes, results = _lab_choice(field, col[field], n, read, table, context)
        per_row = np.where(applies, per_row, -1)
        refused = applies & (per_row < 0)
        errors[field] = {
            i: cast("Messages", results[int(codes[i])]) for i in np.flatnonzero(refused).tolist()
        }
        return per_row

    own_bili = given & filled["bilirubin"]
    bili_unit = choice(
        "bilirubin_unit",
        own_bili,
        lambda r: _entered_unit(r.bilirubin_as_entered),
        [u.value for u in TBIL_UNITS],
    )
    bili, errors["bilirubin"] = _lab_value(
        "bilirubin",
        col["bilirubin"],
        own_bili,
        bili_unit,
        TBIL_UNITS,
        [BILIRUBIN_RANGES[u] for u in TBIL_UNITS],
        lambda r: _quantity_value(r.bilirubin_as_entered),
    )
    inr, errors["inr"] = _lab_value("inr", col["inr"], given, None, (), [INR_RANGE], _inr)
    cr_unit = choice(
        "creatinine_unit",
        given,
        lambda r: _entered_unit(r.creatinine_as_entered),
        [u.value for u in CREATININE_UNITS],
    )
    cr, errors["creatinine"] = _lab_value(
        "creatinine",
        col["creatinine"],
        given,
        cr_unit,
        CREATININE_UNITS,
        [CREATININE_RANGES[u] for u in CREATININE_UNITS],
        lambda r: _quantity_value(r.creatinine_as_entered),
    )
    dialysis = choice("dialysis", given, _dialysis, _DIALYSIS)
    sodium, errors["sodium"] = _lab_value(
        "sodium", col["sodium"], given & filled["sodium"], None, (), [SODIUM_RANGE], _sodium
    )
    alb_given = given & filled["albumin"]
    alb_unit = choice(
        "albumin_unit",
        alb_given | (given & filled["albumin_unit"]),
        lambda r: _entered_unit(r.albumin_as_entered),
        [u.value for u in ALBUMIN_UNITS],
        albumin=_ALBUMIN_FILLER,
    )
    alb_unit = np.where(alb_given, alb_unit, -1)  # no albumin: no unit either
    albumin, errors["albumin"] = _lab_value(
        "albumin",
        col["albumin"],
        alb_given,
        alb_unit,
        ALBUMIN_UNITS,
        [ALBUMIN_RANGES[u] for u in ALBUMIN_UNITS],
        lambda r: _quantity_value(r.albumin_as_entered),
    )
    sex = choice("sex", given & filled["sex"], _sex, _SEXES)
    sex = np.where(given & filled["sex"], sex, 0)

    refused = np.zeros(n, bool)
    for field_errors in errors.values():
        refused[list(field_errors)] = True
    valid = given & ~refused
    # Without a bilirubin: the TBIL as entered, in its unit (NaN: the TBIL was refused).
    bili = np.where(own_bili, bili, tbil_entered)
    bili_unit = np.where(own_bili, bili_unit, tbil_unit)
    rows = valid & ~np.isnan(bili)
    meld, meld_na, meld_3_0 = _lab_scores(
        rows, bili, bili_unit, inr, cr, cr_unit, dialysis, sodium, albumin, alb_unit, sex
    )
    return _Labs(given, valid, errors, meld, meld_na, meld_3_0)


def _quantity_value(q: _meld.Quantity | None) -> float:
    assert q is not None
    return q.value


def _inr(r: LabInputs) -> float:
    return r.inr


def _sodium(r: LabInputs) -> float:
    assert r.sodium_mmol_l is not None
    return r.sodium_mmol_l


def _dialysis(r: LabInputs) -> object:
    return r.dialysis


def _sex(r: LabInputs) -> object:
    return r.sex


def _lab_scores(
    rows: BoolArray,
    bili: FloatArray,
    bili_unit: IntArray,
    inr: FloatArray,
    cr: FloatArray,
    cr_unit: IntArray,
    dialysis: IntArray,
    sodium: FloatArray,
    albumin: FloatArray,
    alb_unit: IntArray,
    sex: IntArray,
) -> tuple[IntArray, IntArray, IntArray]:
    """Classic MELD, MELD-Na and MELD 3.0 (0: not computed) of ``rows``, equal to
    calc.core.meld.compute_meld's.

    The formulas are calc.core.meld's own, evaluated in float64 over the columns
    (:func:`calc.core.meld.float_scores`); a row whose unrounded score lies within
    ROUNDING_MARGIN of a rounding tie could round either way, so that row's three
    scores are recomputed by compute_meld in decimal arithmetic.
    """
    n = rows.size
    idx = np.flatnonzero(rows)
    b_div = np.array([float(_BILIRUBIN_DIVISOR[u]) for u in TBIL_UNITS])
    c_div = np.array([float(_CREATININE_DIVISOR[u]) for u in CREATININE_UNITS])
    a_div = np.array([float(_ALBUMIN_DIVISOR[u]) for u in ALBUMIN_UNITS])
    au = alb_unit[idx]
    meld, meld_na, meld_3_0, near = _meld.float_scores(
        bili=bili[idx] / b_div[bili_unit[idx]],
        inr=inr[idx],
        cr=cr[idx] / c_div[cr_unit[idx]],
        dialysis=dialysis[idx] == 1,
        sodium=sodium[idx],
        albumin=np.where(au >= 0, albumin[idx], 0.0) / a_div[np.maximum(au, 0)],
        female=sex[idx] == _SEXES.index(Sex.FEMALE),
        has_3_0=~np.isnan(sodium[idx]) & (au >= 0) & (sex[idx] > 0),
    )

    # The rows near a tie: calc.core.meld.compute_meld, in decimal arithmetic.
    cache: dict[tuple[object, ...], tuple[int, int, int]] = {}
    for j in np.flatnonzero(near).tolist():
        r = int(idx[j])
        key = (
            float(bili[r]), int(bili_unit[r]), float(inr[r]), float(cr[r]), int(cr_unit[r]),
            int(dialysis[r]), float(sodium[r]), float(albumin[r]), int(alb_unit[r]), int(sex[r]),
        )  # fmt: skip
        if key not in cache:
            cache[key] = _exact_scores(*key)
        meld[j], meld_na[j], meld_3_0[j] = cache[key]

    out = [np.zeros(n, np.int64) for _ in range(3)]
    for full, part in zip(out, (meld, meld_na, meld_3_0), strict=True):
        full[idx] = part
    return out[0], out[1], out[2]


# How many of each unit make one canonical unit (calc.core.meld's conversions).
_BILIRUBIN_DIVISOR: Final[dict[TbilUnit, Decimal | int]] = {
    TbilUnit.MG_DL: 1,
    TbilUnit.UMOL_L: _meld.BILIRUBIN_UMOL_L_PER_MG_DL,
}
_CREATININE_DIVISOR: Final[dict[CreatinineUnit, Decimal | int]] = {
    CreatinineUnit.MG_DL: 1,
    CreatinineUnit.UMOL_L: _meld.CREATININE_UMOL_L_PER_MG_DL,
}
_ALBUMIN_DIVISOR: Final[dict[AlbuminUnit, Decimal | int]] = {
    AlbuminUnit.G_DL: 1,
    AlbuminUnit.G_L: _meld.ALBUMIN_G_L_PER_G_DL,
}


def _exact_scores(
    bili: float,
    bili_unit: int,
    inr: float,
    cr: float,
    cr_unit: int,
    dialysis: int,
    sodium: float,
    albumin: float,
    alb_unit: int,
    sex: int,
) -> tuple[int, int, int]:
    """compute_meld on the labs as validate_labs gives them (0: a score not computed)."""
    labs = LabInputs(
        bilirubin_mg_dl=bilirubin_to_mg_dl(bili, TBIL_UNITS[bili_unit]),
        inr=inr,
        creatinine_mg_dl=creatinine_to_mg_dl(cr, CREATININE_UNITS[cr_unit]),
        dialysis=bool(dialysis),
        sodium_mmol_l=None if sodium != sodium else sodium,
        albumin_g_dl=None if alb_unit < 0 else albumin_to_g_dl(albumin, ALBUMIN_UNITS[alb_unit]),
        sex=_SEXES[sex],
    )
    result = compute_meld(labs)
    return result.meld, result.meld_na or 0, result.meld_3_0 or 0


# --------------------------------------------------------------------------
# CSV text of the results


def _defuse(text: str) -> str:
    """The text of an output cell: ``'`` prefixed where a spreadsheet would read a formula
    (the text begins with ``= + - @``, a tab or a CR), unless it is a plain number."""
    if text[:1] and text[0] in _FORMULA_START and not is_plain_decimal(text):
        return "'" + text
    return text


def _defuse_spans(buf: U8Array, start: IntArray, length: IntArray) -> BoolArray:
    """Which cells ``buf[start : start + length]`` :func:`_defuse` prefixes, with numpy.

    Each cell is followed by a byte of ``buf`` (a comma, a line break or a quote), which
    is the ``buf[start]`` of an empty cell: never a byte that starts a formula.
    """
    first = buf[start]
    risky = _FORMULA_BYTE[first]
    signed = np.flatnonzero(risky & ((first == 43) | (first == 45)) & (length > 1))
    if signed.size:  # a plain number after its sign: only digits and at most one point
        risky[signed] = ~_signed_decimals(buf, start[signed], length[signed])
    return risky


def _signed_decimals(buf: U8Array, start: IntArray, length: IntArray) -> BoolArray:
    """Whether each cell (a sign, then at least one more byte) is a plain decimal."""
    width = int(length.max())
    if width <= _SHORT_CELL:  # the usual case: look at the cells' bytes only
        padded = np.concatenate([buf, np.zeros(width, np.uint8)])
        b = np.lib.stride_tricks.sliding_window_view(padded, width)[start + 1, : width - 1]
        inside = np.arange(width - 1) < (length - 1)[:, None]
        digit = (b >= 48) & (b <= 57) & inside  # "0" to "9"
        dot = (b == 46) & inside
        n_digits, n_dots = digit.sum(axis=1), dot.sum(axis=1)
        short: BoolArray = (n_digits + n_dots == length - 1) & (n_dots <= 1) & (n_digits >= 1)
        return short
    # Long cells too: count digits and points between the cells' ends with running sums.
    low, high = int(start.min()), int((start + length).max())
    seg = buf[low:high]
    digits = np.zeros(seg.size + 1, np.int32)
    np.cumsum((seg >= 48) & (seg <= 57), out=digits[1:])
    dots = np.zeros(seg.size + 1, np.int32)
    np.cumsum(seg == 46, out=dots[1:])
    a, b_ = start + 1 - low, start + length - low
    n_digits, n_dots = digits[b_] - digits[a], dots[b_] - dots[a]
    long: BoolArray = (n_digits + n_dots == length - 1) & (n_dots <= 1) & (n_digits >= 1)
    return long


def _quote(text: str) -> str:
    """A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break."""
    return '"' + text.replace('"', '""') + '"' if _NEEDS_QUOTES.search(text) else text


def _texts(values: AnyArray) -> list[str]:
    """CSV cells of a column: floats in full (``repr``), NaN and NaT empty, dates ISO."""
    kind = values.dtype.kind
    if kind == "M":
        days = values.astype("datetime64[D]")
        if days.ndim == 2:
            return list(
                map(";".join, zip(*(_texts(days[:, j]) for j in range(days.shape[1])), strict=True))
            )
        return ["" if d is None else d.isoformat() for d in days.tolist()]
    items = values.tolist()
    if kind == "f":
        return ["" if x != x else repr(x) for x in items]  # repr reads back exactly
    if kind == "b":
        return ["true" if x else "false" for x in items]
    if kind in "iu":
        return [str(x) for x in items]
    return [_quote(_defuse(str(x))) for x in items]


def _same(a: AnyArray, b: AnyArray) -> bool:
    if a.dtype.kind in "fmM":  # compare bits: NaN == NaN, NaT == NaT
        return bool(np.array_equal(a.view(np.int64), b.view(np.int64)))
    return bool(np.array_equal(a, b))


_CHECKED_ROWS: Final = 1000


def _unique(key: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """np.unique(key, return_index=True, return_inverse=True), without sorting small ranges."""
    low, high = int(key.min()), int(key.max())
    if high - low > 4 * key.size:
        uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return uniq, first, inverse.reshape(-1)
    present = np.zeros(high - low + 1, bool)
    present[key - low] = True
    inverse = (np.cumsum(present) - 1)[key - low]
    uniq = np.flatnonzero(present) + low
    first = np.full(uniq.size, key.size)
    np.minimum.at(first, inverse, np.arange(key.size))
    return uniq, first, inverse


def _block(key: IntArray, columns: Sequence[AnyArray]) -> list[bytes]:
    """The CSV text of a run of columns that depend only on ``key``, one per row.

    Each distinct key is formatted once (there are few distinct values, and
    ``repr`` is what costs). Rows with ``key < 0`` get empty cells. On a sample
    of rows the columns are checked to be functions of the key, so a wrong key
    fails loudly.
    """
    if key.size == 0:
        return []
    uniq, first, inverse = _unique(key)
    rows = np.flatnonzero(key >= 0)
    rows = rows[:: max(1, rows.size // _CHECKED_ROWS)]
    for col in columns:
        if not _same(col[rows], col[first[inverse[rows]]]):
            raise RuntimeError("cohort: a column does not depend on its block key only")
    texts = list(map(",".join, zip(*(_texts(c[first]) for c in columns), strict=True)))
    if uniq[0] < 0:
        texts[0] = "," * (len(columns) - 1)
    encoded = np.array([t.encode("utf-8") for t in texts], dtype=object)
    out: list[bytes] = encoded[inverse].tolist()
    return out


def format_rows(parsed: ParsedRows, result: Mapping[str, AnyArray]) -> list[list[bytes]]:
    """The added cells as CSV text: one list per run of columns, one item per row."""
    valid = parsed.valid
    inputs = parsed.inputs
    missing = np.int64(-1)
    # Every column of the MELD block is a function of the type, the MELD and the warnings
    # (tbil_informative is the negation of tbil_at_or_below_pooled, one of the warnings).
    meld_key = np.where(
        valid,
        (inputs.failure_type * 64 + inputs.meld) * _WARNING_KEYS + result["warning_bits"],
        missing,
    )
    # Valid ALT and TBIL are positive: their bit patterns are non-negative integers.
    alt_key = np.where(valid, result["alt_u_l"].view(np.int64), missing)
    tbil_key = np.where(valid, result["tbil_umol_l"].view(np.int64), missing)
    days = inputs.transplant_date.view(np.int64)  # 2000-2099 only: >= 0, NaT < 0
    date_key = np.where(valid & (days >= 0), days, missing)
    added = [
        [_quote(_defuse(e)).encode("utf-8") if e else b"" for e in parsed.errors],
        _block(meld_key, [result[c] for c in _MELD_BLOCK]),
        _block(alt_key, [result[c] for c in _ALT_BLOCK]),
        _block(tbil_key, [result[c] for c in _TBIL_BLOCK]),
        _block(date_key, [result[c] for c in _DATE_BLOCK]),
    ]
    if parsed.labs is not None:
        added += _lab_blocks(valid, inputs.meld, parsed.labs)
    return added


# A score is at most its cap (0: none).
_SCORE_BASE: Final = max(k.score_max for k in _meld.MELD_TABLE) + 1


def _lab_blocks(valid: BoolArray, meld: IntArray, labs: LabScores) -> list[list[bytes]]:
    """The CSV text of LAB_OUTPUT_COLUMNS, in two runs of columns, each a function of a
    small integer key: the MELD used and its source; the three scores from the labs."""
    used_key = np.where(valid, meld * 2 + labs.meld_from_labs, -1)
    score_key = (labs.meld * _SCORE_BASE + labs.meld_na) * _SCORE_BASE + labs.meld_3_0
    score_key = np.where(valid, score_key, -1)
    if valid.size == 0:
        return [[], []]

    def used_text(k: int) -> str:
        return f"{k // 2},{'labs' if k % 2 else 'entered'}"

    def score_text(k: int) -> str:
        scores = (k // _SCORE_BASE**2, k // _SCORE_BASE % _SCORE_BASE, k % _SCORE_BASE)
        return ",".join(str(x) if x else "" for x in scores)

    return [_keyed_text(used_key, used_text, 1), _keyed_text(score_key, score_text, 2)]


def _keyed_text(key: IntArray, text: Callable[[int], str], commas: int) -> list[bytes]:
    """Each row's cells as ``text(key)`` (formatted once per distinct key); ``key < 0``:
    empty cells."""
    uniq, _, inverse = _unique(key)
    texts = [b"," * commas if k < 0 else text(k).encode("ascii") for k in uniq.tolist()]
    out: list[bytes] = np.array(texts, dtype=object)[inverse].tolist()
    return out


# --------------------------------------------------------------------------
# Reading: blocks of whole records from calc.cli.csvread, as cells and output lines


@dataclass(frozen=True)
class _Chunk:
    lines: list[bytes]  # each row's input cells as CSV text (the input line itself)
    cells: dict[str, _Cells]
    row_errors: dict[int, str]


def _csv_text(cells: Sequence[str]) -> str:
    """One record as CSV text, quoted where needed (a lone CR in a cell too)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(cells)
    return buf.getvalue()[:-2]


def _split_plain(grid: Grid, wanted: Mapping[str, int]) -> _Chunk:
    """The cells of records split with numpy, and each row's input line as it is, with
    "'" inserted before each cell that a spreadsheet would read as a formula (simply
    quoted or unquoted, the cell stays valid CSV)."""
    buf = np.frombuffer(grid.data, np.uint8)
    starts, length = grid.start, grid.length
    defuse = _defuse_spans(buf, starts.reshape(-1), length.reshape(-1))
    out = np.insert(buf, starts.reshape(-1)[defuse], 39).tobytes() if defuse.any() else grid.data
    lines = out.split(b"\n")
    lines.pop()
    cells = {
        name: _Cells(
            grid.data, buf, np.ascontiguousarray(starts[:, j]), np.ascontiguousarray(length[:, j])
        )
        for name, j in wanted.items()
    }
    return _Chunk(lines=lines, cells=cells, row_errors={})


def _split_csv(block: Records, wanted: Mapping[str, int]) -> _Chunk:
    """The cells of records read by the csv module, written back with minimal quoting.

    One writer writes every record (it returns each one's length); only the rows where a
    cell may begin a formula (a match of _FORMULA_CELL, which finds every such cell and
    some inside quotes) are written again, cell by cell through :func:`_defuse`.
    """
    records = block.records
    text = io.StringIO()
    ends = list(accumulate(map(csv.writer(text, lineterminator="\r\n").writerow, records)))
    out = text.getvalue()
    lines = [out[a : b - 2] for a, b in zip([0, *ends], ends, strict=False)]
    for i in {bisect_right(ends, m.start()) for m in _FORMULA_CELL.finditer(out)}:
        lines[i] = _csv_text([_defuse(c) for c in records[i]])
    cells = {name: _Cells.from_texts([r[j] for r in records]) for name, j in wanted.items()}
    return _Chunk(
        lines=[line.encode("utf-8") for line in lines], cells=cells, row_errors=dict(block.problems)
    )


def _match_columns(header: Sequence[str]) -> dict[str, int]:
    """Input field -> column index; names are matched ignoring case and surrounding blanks."""
    found: dict[str, int] = {}
    keys = [name.strip().lower() for name in header]
    labs = any(k in LAB_COLUMNS for k in keys)
    added = set(OUTPUT_COLUMNS) | (set(LAB_OUTPUT_COLUMNS) if labs else set())
    clashes = []
    for j, (name, key) in enumerate(zip(header, keys, strict=True)):
        if key in added:
            clashes.append(name)
        if key in INPUT_FIELDS or key in LAB_COLUMNS:
            if key in found:
                raise CohortFileError(
                    gettext("the column {column} appears twice in the header").format(column=key)
                )
            found[key] = j
    if clashes:
        raise CohortFileError(
            gettext(
                "the input already has the output column(s) {columns}: rename or remove them"
                " (is this the output of calc cohort?)"
            ).format(columns=", ".join(clashes))
        )
    if labs:
        _check_lab_columns(found)
    required = [f for f in REQUIRED_FIELDS if f != "meld" or not labs]
    missing = [f for f in required if f not in found]
    if missing:
        raise CohortFileError(
            gettext(
                "the header has no column {missing}. Required: {required} (meld may be left"
                " out when the labs_ columns give MELD labs); optional: alt_unit, tbil_unit,"
                " transplant_date, labs_*; any other column (such as id) is copied through."
            ).format(missing=", ".join(missing), required=", ".join(REQUIRED_FIELDS))
        )
    return found


def _check_lab_columns(found: Mapping[str, int]) -> None:
    """Lab columns come complete: the required labs, and each value with its unit."""
    missing = [c for c in _LAB_REQUIRED if c not in found]
    if missing:
        raise CohortFileError(
            gettext(
                "the header has MELD lab columns but no column {missing}. With lab columns,"
                " {required} are required (labs_bilirubin defaults to the TBIL in its own unit)."
            ).format(missing=", ".join(missing), required=", ".join(_LAB_REQUIRED))
        )
    for value, unit in _LAB_PAIRS:
        if (value in found) != (unit in found):
            has, lacks = (value, unit) if value in found else (unit, value)
            raise CohortFileError(
                gettext(
                    "the header has the column {has} but no column {lacks}: a lab value and its"
                    " unit come together (a unit has no default)."
                ).format(has=has, lacks=lacks)
            )


# --------------------------------------------------------------------------
# The whole run


@dataclass(frozen=True)
class CohortSummary:
    rows: int
    assessed: int
    refused: int
    seconds: float

    def line(self) -> str:
        return gettext(
            "calc cohort: {rows} rows: {assessed} assessed, {refused} refused (see the error"
            " column) in {seconds} s"
        ).format(
            rows=self.rows,
            assessed=self.assessed,
            refused=self.refused,
            seconds=f"{self.seconds:.1f}",
        )


def assess_csv(
    source: IO[bytes],
    sink: IO[bytes],
    evidence: Evidence,
    *,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    on_progress: Callable[[], None] | None = None,
) -> CohortSummary:
    """Read patients from ``source`` (CSV, UTF-8) and write them with their assessment to ``sink``.

    ``on_progress`` is called after each block. Raises CohortFileError for a
    file that cannot be assessed at all.
    """
    started = time.perf_counter()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived objects and no cycles: the collector only costs time
    try:
        reader = CsvReader(source, block_bytes=block_bytes)
        header, text = reader.header()
        if not header:
            raise CohortFileError(
                gettext("the file is empty: its first line must name the columns")
            )
        wanted = _match_columns(header)
        columns = OUTPUT_COLUMNS
        if any(c in wanted for c in LAB_COLUMNS):
            columns = (*OUTPUT_COLUMNS, *LAB_OUTPUT_COLUMNS)
        if text is None or any(_defuse(name) != name for name in header):
            text = _csv_text([_defuse(name) for name in header])
        sink.write(text.encode("utf-8") + b"," + ",".join(columns).encode("ascii") + b"\n")
        rows = assessed = 0
        for block in reader.blocks(header):
            if isinstance(block, Grid):
                chunk = _split_plain(block, wanted)
            else:
                chunk = _split_csv(block, wanted)
            n = len(chunk.lines)
            if n:
                parsed = _parse_cells(chunk.cells, n, chunk.row_errors)
                result = assess_cohort(parsed.inputs, evidence)
                added = format_rows(parsed, result)
                rows_out = zip(chunk.lines, *added, strict=True)
                for _ in range(0, n, _WRITE_ROWS):  # a slice at a time: less memory
                    sink.write(b"\n".join(map(b",".join, islice(rows_out, _WRITE_ROWS))))
                    sink.write(b"\n")
                rows += n
                assessed += int(parsed.valid.sum())
            if on_progress is not None:
                on_progress()
    except CsvFileError as exc:
        raise CohortFileError(str(exc)) from None
    except csv.Error as exc:
        raise CohortFileError(
            gettext("the file is not readable as CSV ({reason})").format(reason=exc)
        ) from None
    finally:
        if gc_was_enabled:
            gc.enable()
    return CohortSummary(
        rows=rows,
        assessed=assessed,
        refused=rows - assessed,
        seconds=time.perf_counter() - started,
    )


def run_cohort(
    input_path: str | Path,
    output_path: str | Path,
    evidence: Evidence,
    *,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    progress: bool = False,
) -> CohortSummary:
    """Assess a CSV file into another (``"-"``: standard input or output).

    A file output is written beside its final name and renamed into place when
    complete, so a failed run leaves no partial file; it is readable by its
    owner only (it holds patient data). Standard output cannot be taken back, so
    an input that can be read twice (a file) is first checked to the end for what
    would stop the run (a byte that is not UTF-8); a pipe cannot, and such a byte
    stops the run where it is found, after the rows before it were written.
    """
    if str(input_path) == "-":
        source: IO[bytes] = sys.stdin.buffer
        size = None
    else:
        try:
            source = open(input_path, "rb")  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise CohortFileError(
                gettext("cannot read it ({reason})").format(reason=exc.strerror)
            ) from None
        size = os.fstat(source.fileno()).st_size
    try:
        if str(output_path) == "-":
            if source.seekable():  # standard output cannot be taken back: check the file first
                try:
                    check_text(source, block_bytes)
                except CsvFileError as exc:
                    raise CohortFileError(str(exc)) from None
                source.seek(0)
            summary = _run(source, sys.stdout.buffer, evidence, block_bytes, progress, size)
            sys.stdout.buffer.flush()
            return summary
        out = Path(output_path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=".calc-cohort-", suffix=".tmp", dir=out.parent)
        except OSError as exc:
            raise CohortFileError(
                gettext("cannot write {path} ({reason})").format(path=out, reason=exc.strerror)
            ) from None
        try:
            with open(fd, "wb", buffering=1 << 20) as sink:
                summary = _run(source, sink, evidence, block_bytes, progress, size)
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return summary
    finally:
        if source is not sys.stdin.buffer:
            source.close()


def _run(
    source: IO[bytes],
    sink: IO[bytes],
    evidence: Evidence,
    block_bytes: int,
    progress: bool,
    size: int | None,
) -> CohortSummary:
    if not progress or size is None:
        return assess_csv(source, sink, evidence, block_bytes=block_bytes)
    with click.progressbar(length=size, label=gettext("Assessing"), file=sys.stderr) as bar:

        def step() -> None:
            bar.update(min(size, source.tell()) - bar.pos)

        return assess_csv(source, sink, evidence, block_bytes=block_bytes, on_progress=step)


# --------------------------------------------------------------------------
# The command (registered by calc.cli.main: ``main.add_command(cohort_command)``)


class _Path(click.Path):
    """A click.Path named ("file") when a message shows it, in that message's language.

    click names a Path type once, when it is made (as this module loads).
    """

    @property
    def name(self) -> str:
        if self.file_okay and not self.dir_okay:
            return clickwords.click_gettext("file")
        if self.dir_okay and not self.file_okay:
            return clickwords.click_gettext("directory")
        return clickwords.click_gettext("path")

    @name.setter
    def name(self, value: str) -> None:
        pass  # worded when shown (above)


@click.command(
    "cohort",
    cls=_Command,
    help=N_(
        "Assess every patient of a CSV file (one row per patient) into OUTPUT.csv."
        "\n\nColumns: failure_type, meld, alt, tbil (required); alt_unit, tbil_unit,"
        " transplant_date (optional); MELD labs as labs_inr, labs_creatinine,"
        " labs_creatinine_unit, labs_dialysis and optionally labs_bilirubin(_unit),"
        " labs_sodium, labs_albumin(_unit), labs_sex (then meld may be blank); any other"
        " column, such as id, is copied through. A row that cannot be assessed gets a message"
        " in the error column and the others are assessed. A summary goes to standard error."
    ),
)
@click.argument("input_path", metavar="INPUT.csv", type=_Path(dir_okay=False, allow_dash=True))
@_opt(
    "-o",
    "--output",
    "output_path",
    required=True,
    metavar="OUTPUT.csv",
    type=_Path(dir_okay=False, allow_dash=True),
    help_text=N_("Where to write the result ('-': standard output)."),
)
def cohort_command(input_path: str, output_path: str) -> None:
    """``calc cohort`` (its help is the command's ``help``, in the language chosen)."""
    try:
        evidence = load_evidence()
        summary = run_cohort(input_path, output_path, evidence, progress=sys.stderr.isatty())
    except CohortFileError as exc:
        click.echo(f"calc: error: {input_path}: {exc}", err=True)
        sys.exit(2)
    except EvidenceError as exc:
        click.echo(f"calc: error: {exc}", err=True)
        sys.exit(2)
    except BrokenPipeError:  # the reader of standard output stopped (`| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    click.echo(summary.line(), err=True)
