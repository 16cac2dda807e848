"""calc.cli.csvread reads a CSV file record by record exactly as Python's csv module does.

Source of truth: ``csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig", newline=""))``
in its default dialect, with ``field_size_limit`` raised so that it reads every
file; a cell over the usual limit (131072 characters) is then expected empty,
with a message for its row. Thousands of generated files with stray quotes,
quoted line breaks, CRLF, lone CR, a byte order mark, blank lines and long cells
are read in blocks of a few bytes, so that records and cells straddle every
block boundary.
"""

from __future__ import annotations

import csv
import io
import random
import sys
from collections.abc import Iterator

import pytest

from calc.cli.csvread import CsvFileError, CsvReader, Grid

LIMIT = 131_072  # csv.field_size_limit() by default
Read = tuple[list[str], list[tuple[list[str], bool]]]  # header; each row's cells, refused


def read_ours(data: bytes, block_bytes: int, record_chars: int = 1 << 20) -> Read:
    """The header and rows as calc.cli.csvread gives them."""
    reader = CsvReader(io.BytesIO(data), block_bytes=block_bytes, record_chars=record_chars)
    names, _ = reader.header()
    rows: list[tuple[list[str], bool]] = []
    if not names:
        return names, rows
    for block in reader.blocks(names):
        if isinstance(block, Grid):
            for start, length in zip(block.start.tolist(), block.length.tolist(), strict=True):
                cells = [block.data[s : s + n].decode() for s, n in zip(start, length, strict=True)]
                rows.append((cells, False))
        else:
            rows += [(r, i in block.problems) for i, r in enumerate(block.records)]
    return names, rows


def read_csv(data: bytes) -> Read:
    """The header and rows as the csv module reads them: blank records skipped, each row
    made the header's width, a cell over the limit empty (and the row refused)."""
    old = csv.field_size_limit(sys.maxsize)
    try:
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
        records = list(csv.reader(text))
    finally:
        csv.field_size_limit(old)
    if not records or not records[0]:
        return [], []
    names, width = records[0], len(records[0])
    rows = []
    for record in records[1:]:
        if not record:
            continue
        cells = (record + [""] * width)[:width]
        long = [j for j, c in enumerate(cells) if len(c) > LIMIT]
        for j in long:
            cells[j] = ""
        rows.append((cells, len(record) != width or bool(long)))
    return names, rows


CELLS = (
    "P1",
    "ACLF",
    "28",
    "",
    " ",
    'O"Brien',  # a stray quote inside an unquoted cell: an ordinary character
    'say "hi"',
    '"quoted"',
    '"with, comma"',
    '"two\nlines"',
    '"cr\rinside"',
    '"crlf\r\ninside"',
    '"say ""hi"""',
    '"a"b',  # text after the closing quote joins the cell
    '"',  # a quote that opens a cell and runs on
    '""',
    '"""',
    "é",
    "a\x00b",
    "=1+1",
)
ENDS = ("\n", "\r\n", "\r")


def cohort_like(rnd: random.Random) -> str:
    """Rows of cells, some broken: the files a ward exports and hand-edits."""
    width = rnd.randint(1, 6)
    header = ",".join(rnd.choice(["id", "x", '"y"', "z"]) for _ in range(width))
    end = rnd.choice(ENDS)
    parts = [header, end]
    for _ in range(rnd.randint(0, 30)):
        cells = [rnd.choice(CELLS) for _ in range(max(1, width + rnd.choice([0, 0, 0, -1, 1])))]
        parts += [",".join(cells), rnd.choice(ENDS) if rnd.random() < 0.2 else end]
        if rnd.random() < 0.05:
            parts.append(end)  # a blank line
    if rnd.random() < 0.3:
        parts.pop()  # no line end after the last row
    return "".join(parts)


def soup(rnd: random.Random) -> str:
    """Characters that matter to a CSV reader, in any order."""
    alphabet = [",", '"', "\n", "\r", "\r\n", "a", "b", " ", "é", '""', ',"', '",', "x" * 50]
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 80)))


def long_cell(rnd: random.Random) -> str:
    """A cell at, just over, or far over the csv module's limit, maybe quoted."""
    text = "y" * rnd.choice([LIMIT - 1, LIMIT, LIMIT + 1, 200_000])
    if rnd.random() < 0.5:
        text = text[:1000] + "\n" + text[1001:]
    return f'"{text}"' if rnd.random() < 0.6 else text.replace("\n", "y")


def files(count: int, seed: int) -> Iterator[tuple[bytes, int, int]]:
    """``count`` files, each with a block size and a record size to read it with."""
    rnd = random.Random(seed)
    for _ in range(count):
        text = cohort_like(rnd) if rnd.random() < 0.7 else soup(rnd)
        blocks = [1, 2, 3, 5, 16, 64, 4096, 1 << 22]
        if rnd.random() < 0.05:
            at = rnd.randint(0, len(text))
            text = text[:at] + long_cell(rnd) + text[at:]
            blocks = blocks[4:]  # a long cell read a byte at a time takes long
        data = text.encode("utf-8")
        if rnd.random() < 0.1:
            data = b"\xef\xbb\xbf" + data
        block = rnd.choice(blocks)
        yield data, block, rnd.choice([8, 100, 1 << 20])


@pytest.mark.hazard("H-22")
def test_h22_files_are_read_as_the_csv_module_reads_them() -> None:
    mismatches = []
    for data, block, record_chars in files(4000, seed=22):
        expected = read_csv(data)
        try:
            got = read_ours(data, block, record_chars)
        except CsvFileError as exc:  # only for a column name over the limit
            assert "column name longer" in str(exc)
            assert any(len(name) > LIMIT for name in expected[0])
            continue
        if got != expected:
            mismatches.append((data[:200], block, record_chars))
    assert mismatches == []


@pytest.mark.parametrize("block", [1, 7, 1 << 20])
def test_a_stray_quote_shifts_nothing(block: int) -> None:
    """The failure this reader replaces: a quote inside an unquoted id, then a quoted
    cell with a line break, was read as one row too many."""
    data = b'id,note\nO"Brien,x\nb,"two\nlines"\nc,"y"\n'
    assert read_ours(data, block) == read_csv(data)
    assert [r[0] for r in read_ours(data, block)[1]] == [
        ['O"Brien', "x"],
        ["b", "two\nlines"],
        ["c", "y"],
    ]


def test_plain_and_simply_quoted_blocks_are_split_with_numpy() -> None:
    data = b'id,note\r\n"P1",O"Brien\r\nP2,""\r\n'
    reader = CsvReader(io.BytesIO(data))
    names, text = reader.header()
    assert (names, text) == (["id", "note"], "id,note")
    [block] = list(reader.blocks(names))
    assert isinstance(block, Grid)
    assert read_ours(data, 1 << 20) == (
        ["id", "note"],
        [(["P1", 'O"Brien'], False), (["P2", ""], False)],
    )


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b'"id","x"\n', '"id","x"'),
        (b"\xef\xbb\xbfid,x\r\n", "id,x"),
        (b'id,"x\ny"\n', None),  # a line break in a name: written anew
        (b'id,"x', None),  # a quote open at the end of the file
    ],
)
def test_header_text_is_kept_when_it_reads_back_the_same(data: bytes, text: str | None) -> None:
    assert CsvReader(io.BytesIO(data)).header()[1] == text


def test_long_cell_row_is_refused_with_the_column_and_the_limit() -> None:
    data = b"id,note\na,x\nb," + b"y" * (LIMIT + 1) + b"\nc,z\n"
    reader = CsvReader(io.BytesIO(data), block_bytes=4096)
    names, _ = reader.header()
    problems = [
        p
        for block in reader.blocks(names)
        if not isinstance(block, Grid)
        for p in block.problems.values()
    ]
    assert problems == [
        "row: the cell in column note is longer than 131072 characters, the limit of "
        "Python's csv module: it is left empty in the output."
    ]
    assert read_ours(data, 4096) == read_csv(data)


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"id\n\xe9\n", 2),
        (b"id\r\na\rb\r\n\xff", 4),
        (b'id\n"a\nb\nc\xe9"\n', 4),  # physical lines, as csv.reader's line_num counts them
        (b"\xef\xbb\xbfid\r\nx\r\n\r\n" * 3 + b"\xe9", 10),  # CRLFs split across reads
    ],
)
@pytest.mark.parametrize("seekable", [True, False])
def test_not_utf8_names_its_line(data: bytes, line: int, seekable: bool) -> None:
    """A file is counted again from its start when the error is found; a pipe as it goes."""

    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    reader = CsvReader((io.BytesIO if seekable else Pipe)(data), block_bytes=2)
    with pytest.raises(CsvFileError, match=f"line {line} is not UTF-8"):
        names, _ = reader.header()
        list(reader.blocks(names))


def test_memory_is_bounded_by_the_record_size() -> None:
    """A quote opened and never closed runs to the end of the file (as in the csv module):
    that one row is read without holding its text, however long the file."""
    rows = b"".join(b"p%d,ACLF\n" % i for i in range(200_000))  # 2.5 MB
    data = b'id,note\n"open,x\n' + rows
    reader = CsvReader(io.BytesIO(data), block_bytes=4096, record_chars=10_000)
    names, _ = reader.header()
    held = []
    got = []
    for block in reader.blocks(names):
        assert not isinstance(block, Grid)
        held.append(len(reader._data))
        got += block.records
    assert got == [["", ""]]  # one cell over the limit (emptied), one missing
    assert max(held) < 50_000
