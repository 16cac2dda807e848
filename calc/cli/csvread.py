"""Reading a cohort file record by record exactly as Python's csv module reads it.

The format is CSV as RFC 4180 describes it (fields separated by commas, records
by line ends, a field in double quotes may hold commas, line breaks and doubled
quotes), read with the leniency of ``csv.reader`` in its default dialect, which
is what a spreadsheet or a script reading the same file sees: a line may end
in LF, CRLF or a lone CR; a quote inside an unquoted field is an ordinary
character (``O"Brien``); text after a closing quote joins its field
(``"a"b`` is ``ab``); a quote still open at the end of the file ends there. A
file is read as ``csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig",
newline=""))`` reads it; a blank line is a record of no cells, which the
caller skips.

Why not split on line ends and count quotes, which is fast? Because a stray
quote then shifts every record after it: a row is cut in two, or two rows are
read as one, and the cohort written from it no longer matches the file that
was given. So each block is read either by :func:`_grid` with numpy, only when
its text leaves no room for doubt (every line a record of the header's width,
and each quote either inside a cell, where it is an ordinary character, or
around a whole cell that holds no comma, quote or line end: the csv module
reads such text the same way), or by the csv module itself, whose state is
carried from one record to the next so that a quoted cell may run across the
end of a block.

Memory stays bounded whatever the file holds: a record longer than
``record_chars`` characters (one with a cell over the csv module's
``field_size_limit``, a quote never closed, a line of millions of cells) is
read by :func:`_scan`, the csv module's own state machine written out, which
keeps no more than each of the header's cells up to the limit and counts the
rest. Such a row gets a message, and the rows after it are read as the csv
module reads them.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Final

import numpy as np
import numpy.typing as npt

from ..core.i18n import gettext

IntArray = npt.NDArray[np.int64]

DEFAULT_BLOCK_BYTES: Final = 4 << 20  # read 4 MiB at a time (~80,000 rows)
#: A record longer than this (in characters) is read by :func:`_scan`, with bounded memory.
RECORD_CHARS: Final = 1 << 20
#: A header with more cells than this is refused (its names are all kept).
MAX_COLUMNS: Final = 1 << 16

_BOM: Final = b"\xef\xbb\xbf"
_LF, _CR, _QUOTE, _COMMA = 10, 13, 34, 44
_FIELD_END = re.compile(r"[,\r\n]")


class CsvFileError(ValueError):
    """The file cannot be read as CSV text at all (it is not UTF-8)."""


@dataclass(frozen=True)
class Grid:
    """Records split with numpy: cell ``(i, j)`` is ``data[s : s + length[i, j]]``, s = start[i, j].

    Every record is one line of ``data``, which ends each line with LF (the
    input's line ends, CRLF or CR, become LF; blank lines are left out). A
    quoted cell's span is its text inside the quotes.
    """

    data: bytes
    start: IntArray  # shape (records, width)
    length: IntArray


@dataclass(frozen=True)
class Records:
    """Records as the csv module reads them, each made the header's width.

    ``problems`` gives, for a record, what is wrong with it as a whole (another
    number of cells; a cell over the limit, which is left empty): the caller
    refuses that row with the message.
    """

    records: list[list[str]]
    problems: dict[int, str]


def _line_ends(data: bytes) -> int:
    """Line ends (LF, CRLF or a lone CR) in ``data``: csv.reader's count of lines."""
    if b"\r" not in data:  # the usual case, at the cost of one count
        return data.count(b"\n")
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _last_line_end(data: bytes) -> int:
    """Index just past the last line end in ``data`` (0 if none); a CR at the very
    end may be the first half of a CRLF, so it ends nothing yet."""
    lf = data.rfind(b"\n")
    cr = data.rfind(b"\r", lf + 1, len(data) - 1)  # a lone CR after the last LF
    return max(lf, cr) + 1


def _safe_end(data: bytes) -> int:
    """Where ``data`` may be cut: after its last LF, else before an unfinished UTF-8
    character and a CR that may precede an LF still to be read."""
    end = data.rfind(b"\n") + 1
    if end:
        return end
    end = len(data)
    back = 0
    while back < 3 and back < end and 0x80 <= data[end - 1 - back] < 0xC0:
        back += 1  # continuation bytes
    if back < end:
        lead = data[end - 1 - back]
        need = 2 if 0xC0 <= lead < 0xE0 else 3 if 0xE0 <= lead < 0xF0 else 4 if lead >= 0xF0 else 1
        if back + 1 < need:
            end -= back + 1
    if end and data[end - 1] == _CR:
        end -= 1
    return end


def _to_line_end(source: _Source, data: bytes, most: int) -> bytes:
    """``data`` and what follows it in ``source`` up to a line end, the end of the file, or
    more than ``most`` bytes (a line longer than any record: :func:`_scan` reads it)."""
    if _last_line_end(data):
        return data
    parts, size = [data], len(data)
    while not source.done and size <= most:
        piece = source.piece()
        parts.append(piece)
        size += len(piece)
        if _last_line_end(piece):  # no piece ends in a CR that an LF may follow
            break
    return b"".join(parts)


class _Source:
    """The file in pieces of about ``block_bytes``, each checked to be UTF-8 text and
    cut where a reader may stop: never inside a character or a CRLF.

    The line of a byte that is not UTF-8 is named in the error. A file that can be
    read again is counted only then, from its start; a pipe is counted as it goes.
    """

    def __init__(self, raw: IO[bytes], block_bytes: int) -> None:
        self._raw = raw
        self._block = max(1, block_bytes)
        self._pending = b""
        self._started = False
        self._origin = raw.tell() if raw.seekable() else None
        self._offset = 0  # bytes of the file before the next piece
        self._line = 1  # without an origin: the line where the next piece starts
        self.done = False

    def piece(self) -> bytes:
        """The next piece of the file; ``b""`` at its end."""
        while not self.done:
            more = self._raw.read(self._block)
            data = self._pending + more
            if not self._started:  # a byte order mark is not text (utf-8-sig)
                if len(data) < len(_BOM) and more and _BOM.startswith(data):
                    self._pending = data
                    continue
                self._started = True
                if data.startswith(_BOM):
                    data = data[len(_BOM) :]
                    self._offset = len(_BOM)
            if not more:
                self.done = True
                cut = len(data)
            else:
                cut = _safe_end(data)
            self._pending = data[cut:]
            if cut:
                return self._checked(data[:cut])
        return b""

    def _checked(self, piece: bytes) -> bytes:
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError as exc:
            where = self._line_at(piece, exc.start)
            raise CsvFileError(
                gettext("line {line} is not UTF-8 text ({reason})").format(
                    line=where, reason=exc.reason
                )
            ) from None
        self._offset += len(piece)
        if self._origin is None:
            self._line += _line_ends(piece)
        return piece

    def _line_at(self, piece: bytes, at: int) -> int:
        """The line of ``piece[at]``, as csv.reader counts lines."""
        if self._origin is None:
            return self._line + _line_ends(piece[:at])
        self._raw.seek(self._origin)
        left, ends, cr_before = self._offset + at, 0, False
        while left > 0:
            chunk = self._raw.read(min(self._block, left))
            if not chunk:
                break
            left -= len(chunk)
            ends += _line_ends(chunk) - (cr_before and chunk.startswith(b"\n"))
            cr_before = chunk.endswith(b"\r")  # counted as a line end: undone if an LF follows
        return 1 + ends


def check_text(raw: IO[bytes], block_bytes: int = DEFAULT_BLOCK_BYTES) -> None:
    """Read ``raw`` to its end as :class:`CsvReader` would, raising CsvFileError (naming the
    line) at the first byte that is not UTF-8 text: the only thing that stops the reading
    of a file once its header is read, so a caller that must not write part of a result
    can check the whole file first."""
    source = _Source(raw, block_bytes)
    while source.piece():
        pass


class _TooLong(Exception):
    """A record grew past ``record_chars`` while the csv module was reading it."""


class _Lines:
    """The text of the file as whole lines for csv.reader, from a given record on.

    The lines of the record being read are kept (from ``mark``), so that a record
    that grows too long can be read again by :func:`_scan`.
    """

    def __init__(self, lines: list[str], tail: bytes, source: _Source, record_chars: int) -> None:
        self.lines = lines
        self.i = 0  # the next line to give
        self.mark = 0  # where the record being read starts
        self.since = 0  # characters given since ``mark``
        self.tail = tail  # bytes read after the last whole line
        self.source = source
        self.record_chars = record_chars

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.i == len(self.lines) and not self._more(whole=True):
            raise StopIteration
        line = self.lines[self.i]
        self.i += 1
        self.since += len(line)
        if self.since > self.record_chars:
            raise _TooLong
        return line

    def take(self) -> str:
        """The next text, a whole line or a piece of one; ``""`` at the end of the file.
        What was taken before is not kept (a long record is read once)."""
        if self.i == len(self.lines):
            self.mark = self.i
            if not self._more(whole=False):
                return ""
        self.i += 1
        return self.lines[self.i - 1]

    def give_back(self, text: str) -> None:
        """Return the unread end of what :meth:`take` gave last."""
        if text:
            self.i -= 1
            self.lines[self.i] = text

    def rest(self) -> bytes:
        """What is read and not yet given, as bytes."""
        return "".join(self.lines[self.i :]).encode("utf-8") + self.tail

    def _more(self, *, whole: bool) -> bool:
        """Read on; with ``whole``, to the end of a line (csv.reader must see a line end
        only where the file has one)."""
        if whole:
            data = _to_line_end(self.source, self.tail, 4 * self.record_chars)
            cut = len(data) if self.source.done else _last_line_end(data)
            if not cut and data:  # bytes: at least record_chars characters, and no line end
                self.tail = data
                raise _TooLong
        else:
            data = self.tail + self.source.piece()  # pieces end between characters and CRLFs
            cut = len(data)
        self.tail = data[cut:]
        new = io.StringIO(data[:cut].decode("utf-8"), newline="").readlines()
        if not new:
            return False
        self.lines = self.lines[self.mark :] + new
        self.i -= self.mark
        self.mark = 0
        return True


# csv.reader's states (as named in CPython's C reader) for the default dialect.
_START_RECORD, _START_FIELD, _IN_FIELD, _IN_QUOTED, _QUOTE_IN_QUOTED = range(5)


@dataclass
class _Scanned:
    cells: list[str]  # the first ``keep`` cells; a cell over the limit is ""
    count: int  # cells in the record
    too_long: list[int]  # indexes of the cells over the limit
    text: str | None  # the record's text, while short (for the header)


def _scan(lines: _Lines, keep: int, limit: int, text_chars: int = 0) -> _Scanned | None:
    """Read one record from ``lines`` as csv.reader (non-strict, default dialect) does,
    keeping the first ``keep`` cells up to ``limit`` characters each; None at the end
    of the file.

    The states and their moves are those of CPython's C reader, one run of ordinary
    characters at a time: a record ends at the first LF or CR outside quotes (with
    the LF after a CR), or at the end of the file, even inside quotes.
    """
    state = _START_RECORD
    cells: list[str] = []
    too_long: list[int] = []
    count = 0
    parts: list[str] = []
    size = 0
    seen: list[str] | None = [] if text_chars else None
    seen_chars = 0

    def add(s: str) -> None:
        nonlocal size
        if size <= limit and count < keep:
            parts.append(s)
        size += len(s)

    def save() -> None:
        nonlocal count, size
        if count < keep:
            if size > limit:
                too_long.append(count)
                cells.append("")
            else:
                cells.append("".join(parts))
        parts.clear()
        size = 0
        count += 1

    while True:
        chunk = lines.take()
        if not chunk:
            if state == _START_RECORD:
                return None
            save()  # the end of the file ends the record, even inside quotes
            break
        end = -1
        i, n = 0, len(chunk)
        while i < n:
            if state in (_START_RECORD, _START_FIELD):
                c = chunk[i]
                if c == "\r" or c == "\n":
                    if state == _START_FIELD:
                        save()
                    end = i
                    break
                state = _START_FIELD
                if c == '"':
                    state, i = _IN_QUOTED, i + 1
                elif c == ",":
                    save()
                    i += 1
                else:
                    state = _IN_FIELD
            elif state == _IN_FIELD:
                m = _FIELD_END.search(chunk, i)
                j = m.start() if m else n
                add(chunk[i:j])
                i = j
                if m:
                    save()
                    state = _START_FIELD
                    if chunk[j] == ",":
                        i += 1
                    else:
                        end = j
                        break
            elif state == _IN_QUOTED:
                j = chunk.find('"', i)
                add(chunk[i:] if j < 0 else chunk[i:j])
                if j < 0:
                    i = n
                else:
                    state, i = _QUOTE_IN_QUOTED, j + 1
            else:  # _QUOTE_IN_QUOTED
                c = chunk[i]
                if c == '"':  # a doubled quote
                    add('"')
                    state, i = _IN_QUOTED, i + 1
                elif c == ",":
                    save()
                    state, i = _START_FIELD, i + 1
                elif c == "\r" or c == "\n":
                    save()
                    end = i
                    break
                else:  # non-strict: the text after a closing quote joins the field
                    state = _IN_FIELD
        if end >= 0:
            stop = end + 1
            if chunk[end] == "\r" and chunk[stop : stop + 1] == "\n":
                stop += 1
            lines.give_back(chunk[stop:])
            chunk = chunk[:stop]
        if seen is not None and seen_chars <= text_chars:
            seen.append(chunk)
            seen_chars += len(chunk)
        if end >= 0:
            break
    text = "".join(seen) if seen is not None and seen_chars <= text_chars else None
    return _Scanned(cells, count, too_long, text)


def _grid(data: bytes, width: int, limit: int) -> Grid | None:
    """Split ``data`` (whole lines) with numpy when every record is one line of ``width``
    cells, each simply quoted (``"..."`` around the whole cell, with no quote, comma or
    line end inside) or not opening with a quote; else None.

    csv.reader reads such text the same way: a quote that does not open a cell is an
    ordinary character (``O"Brien``), so every comma and line end separates, and a
    cell that opens with a quote closes it just before the comma or line end that
    ends it. No cell may be longer than ``limit`` bytes: a longer one may be over the
    csv module's limit (in characters), and its row is refused by :meth:`CsvReader._add`.
    """
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not data.endswith(b"\n"):
        data += b"\n"
    if data.startswith(b"\n") or b"\n\n" in data:  # blank lines: records of no cells
        data = b"".join(line + b"\n" for line in data.split(b"\n") if line)
    buf = np.frombuffer(data, np.uint8)
    n = data.count(b"\n")
    seps = np.flatnonzero((buf == _COMMA) | (buf == _LF))
    if seps.size != n * width:
        return None
    ends = seps.reshape(n, width)
    if n and not (buf[ends[:, -1]] == _LF).all():
        return None
    starts = np.empty_like(ends)
    starts[:, 1:] = ends[:, :-1] + 1
    if n:
        starts[0, 0] = 0
        starts[1:, 0] = ends[:-1, -1] + 1
    length = ends - starts
    if n:  # no cell longer than the limit: first the lines (cheaper), then the cells
        line_ends = ends[:, -1]
        longest_line = max(int(line_ends[0]), int(np.diff(line_ends).max(initial=0)))
        if longest_line > limit and int(length.max()) > limit:
            return None
    if b'"' in data:
        # A cell that opens with a quote must close it at its end, with no quote between;
        # in any other cell a quote is an ordinary character.
        quoted = buf[starts] == _QUOTE  # an empty cell's start is the comma or LF after it
        if quoted.any():
            first, last = starts[quoted], ends[quoted] - 1
            count = np.cumsum(buf == _QUOTE)
            if not (
                (last > first) & (buf[last] == _QUOTE) & (count[last] - count[first] == 1)
            ).all():
                return None
            starts = starts + quoted
            length = length - 2 * quoted
    return Grid(data, starts.astype(np.int64, copy=False), length.astype(np.int64, copy=False))


class CsvReader:
    """A CSV file read block by block: first :meth:`header`, then :meth:`blocks`.

    ``field_size_limit`` is the csv module's, read once: a cell longer than that
    makes the csv module stop the whole file, and here only refuses its row.
    """

    def __init__(
        self,
        raw: IO[bytes],
        *,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
        record_chars: int = RECORD_CHARS,
    ) -> None:
        self._source = _Source(raw, block_bytes)
        self._block = max(1, block_bytes)
        self._record_chars = max(1, record_chars)
        self._data = b""  # read and checked, not yet given: from the start of a record
        self.limit = csv.field_size_limit()

    def header(self) -> tuple[list[str], str | None]:
        """The first record's cells (``[]`` for an empty file or a blank first line), and its
        text without the line end when the same text followed by more cells reads as the
        same cells then those (else None: the caller writes the names anew)."""
        first = self._source.piece()
        cut = first.find(b"\n") + 1  # the header's first line: the rest is not decoded twice
        lines = _Lines(
            [first[:cut].decode("utf-8")] if cut else [],
            first[cut:],
            self._source,
            self._record_chars,
        )
        scanned = _scan(lines, MAX_COLUMNS + 1, self.limit, text_chars=self._record_chars)
        self._data = lines.rest()
        if scanned is None:
            return [], None
        if scanned.count > MAX_COLUMNS:
            raise CsvFileError(
                gettext("line 1 has more than {count} columns").format(count=MAX_COLUMNS)
            )
        if scanned.too_long:
            raise CsvFileError(
                gettext(
                    "line 1 has a column name longer than {limit} characters, the limit of"
                    " Python's csv module"
                ).format(limit=self.limit)
            )
        names, text = scanned.cells, scanned.text
        if text is not None:
            text = text.removesuffix("\n").removesuffix("\r")
            if "\r" in text or "\n" in text or next(csv.reader([text + ",x"])) != [*names, "x"]:
                text = None
        return names, text

    def blocks(self, names: Sequence[str]) -> Iterator[Grid | Records]:
        """The records after the header, in blocks of about ``block_bytes``."""
        width = len(names)
        data = self._data
        while True:
            if len(data) < self._block:  # one read per block: the block is written before the next
                data += self._source.piece()
            data = _to_line_end(self._source, data, 4 * self._record_chars)
            if not data:
                return
            cut = len(data) if self._source.done else _last_line_end(data)
            grid = _grid(data[:cut], width, self.limit) if cut else None
            if grid is not None:
                data = data[cut:]
                yield grid
                continue
            self._data = data
            yield self._records(cut, names)
            data = self._data

    def _records(self, cut: int, names: Sequence[str]) -> Records:
        """Records read by csv.reader from the start of ``self._data``, through its first
        ``cut`` bytes and the rest of the record that ends past them.

        The reader takes the block's lines straight from the list; only the lines after
        them, for a record that runs on, come through :class:`_Lines`, which keeps them
        from the record's start (``mark``, kept as the reader's ``line_num``) for
        :func:`_scan` should the record be too long for the csv module.
        """
        data = self._data
        batch = io.StringIO(data[:cut].decode("utf-8"), newline="").readlines()
        n_batch = len(batch)
        lines = _Lines(batch, data[cut:], self._source, self._record_chars)
        lines.i = n_batch
        reader = csv.reader(itertools.chain(batch, lines))
        records: list[list[str]] = []
        problems: dict[int, str] = {}
        width = len(names)
        try:
            for record in reader:
                if len(record) == width:
                    records.append(record)
                elif record:
                    self._add(records, problems, record, len(record), [], names)
                if reader.line_num >= n_batch:
                    break
                lines.mark = reader.line_num
        except (csv.Error, _TooLong) as exc:
            if isinstance(exc, csv.Error) and "field larger than field limit" not in str(exc):
                raise  # not met in the default dialect: every text is read
            lines.i = lines.mark
            scanned = _scan(lines, width, self.limit)
            if scanned is not None and scanned.count:
                cells, count, too_long = scanned.cells, scanned.count, scanned.too_long
                self._add(records, problems, cells, count, too_long, names)
        self._data = lines.rest()  # after a scan, maybe part of a line: a block starts there
        return Records(records, problems)

    def _add(
        self,
        records: list[list[str]],
        problems: dict[int, str],
        record: list[str],
        count: int,
        too_long: list[int],
        names: Sequence[str],
    ) -> None:
        width = len(names)
        messages = []
        if count != width:
            extra = " (the extra cells are not copied)" if count > width else ""
            messages.append(f"it has {count} cells but the header names {width} columns{extra}.")
        if too_long:
            columns = ", ".join(names[j] for j in too_long)
            messages.append(
                f"the cell in column {columns} is longer than {self.limit} characters, the "
                "limit of Python's csv module: it is left empty in the output."
                if len(too_long) == 1
                else f"the cells in columns {columns} are longer than {self.limit} characters, "
                "the limit of Python's csv module: they are left empty in the output."
            )
        if messages:
            problems[len(records)] = "; ".join(f"row: {m}" for m in messages)
        records.append((record + [""] * width)[:width] if count != width else record)
