"""What an .xlsx holds, found before openpyxl reads it: its size, its zip directory and each
XML part streamed once through expat with nothing built (ui/workbooks.py reads the file only
after this). openpyxl builds an object for every XML element it reads, so the file's own size
does not bound memory; the counts here do (models/excel_format.py). On the way the scan keeps
what read-only openpyxl does not tell: each sheet's merged ranges and its formulas saved with
no value."""

from __future__ import annotations

import zipfile
from array import array
from bisect import bisect_left
from io import BytesIO
from typing import Any
from xml.parsers import expat

from models.excel_format import (
    MAX_CELLS,
    MAX_ELEMENTS,
    MAX_FILE_BYTES,
    MAX_OTHER_ELEMENTS,
    MAX_ROW_ELEMENTS,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
)
from models.importing import (
    InvalidWorkbook,
    file_too_large,
    not_a_workbook,
    too_big,
    unpacked_too_large,
)


def check_size(content: bytes) -> ElementScan:
    """Refuse a file too big to read safely, from its size and its zip directory, then from
    its XML elements counted before openpyxl builds anything from them. Returns the count,
    with what it kept of the parts on the way (their merged cells)."""
    if len(content) > MAX_FILE_BYTES:
        raise file_too_large(len(content))
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            unpacked = sum(max(part.file_size, 0) for part in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise not_a_workbook() from exc
    if unpacked > MAX_UNPACKED_BYTES:  # the sizes are checked again as each part is inflated
        raise unpacked_too_large(unpacked)
    count = ElementScan()
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            for part in archive.infolist():  # whatever its name: openpyxl follows the rels
                count.scan(archive, part)
    except InvalidWorkbook:
        raise
    except Exception as exc:  # a part that does not inflate: openpyxl would fail on it too
        raise not_a_workbook() from exc
    return count


class ElementScan:
    """The file's XML elements, counted as expat streams each part by with nothing kept, and
    refused at the first limit passed (models/excel_format.py): openpyxl builds an object for
    each element of a row, of the styles, views, merges…; rows are read one at a time, the rest
    is kept. A part expat cannot parse is left to openpyxl, which refuses it if it reads it.
    Kept on the way, what read-only openpyxl does not tell: each part's merged ranges and its
    formulas saved with no value (Kept)."""

    def __init__(self) -> None:
        self.elements = self.other = self.rows = self.cells = self.strings = 0
        self.depth = 0
        self.unit: int | None = None  # the depth of the row or shared string being read
        self.in_unit = 0  # elements in it
        self.width = 0  # the row's last cell so far
        self.parts: dict[str, Kept] = {}  # by part name
        self.kept = Kept()  # the part being read's
        self.row = 0  # its row being read, as openpyxl numbers it
        self.type = "n"  # the type (t) of the cell being read
        self.cell: tuple[int, str] | None = None  # a formula cell being read: column, type
        self.valued = False  # whether that cell has a value (<v> with text)
        self.parser: Any = None

    def scan(self, archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
        parser = expat.ParserCreate()
        parser.StartDoctypeDeclHandler = self._doctype
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        self.parser, self.kept = parser, self.parts.setdefault(part.filename, Kept())
        self.depth, self.unit, self.row, self.cell = 0, None, 0, None
        with archive.open(part) as stream:
            try:
                while chunk := stream.read(2**16):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
            except expat.ExpatError:
                return
            finally:
                self.kept.sort()

    def _doctype(self, *_: object) -> None:
        raise not_a_workbook()  # no DTD in an .xlsx: entity expansion ("billion laughs")

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise too_big("too_complex")
        tag = name.rpartition(":")[2]
        if self.unit is not None:
            self.in_unit += 1
            if self.in_unit > MAX_ROW_ELEMENTS:
                raise too_big("too_complex")
            if tag == "c" and self.depth == self.unit + 1:  # a cell: its column, or the next
                reference = attributes.get("r")
                self.width = _column(reference) if reference else self.width + 1
                self.type, self.valued = attributes.get("t", "n"), False
            elif tag == "f" and self.depth == self.unit + 2:
                self.cell = (self.width, self.type)
            elif tag == "v" and self.depth == self.unit + 2 and self.cell is not None:
                self.parser.CharacterDataHandler = self._text
                if self.cell[1] == "str":  # a formula's text, empty or not, was calculated
                    self.valued = True
        elif tag in ("row", "si"):
            self.unit, self.in_unit, self.width = self.depth, 0, 0
            if tag == "row":
                self.row = _row_number(attributes.get("r"), self.row)
                self.rows += 1
                if self.rows > MAX_ROWS:
                    raise too_big("too_many_rows", max=MAX_ROWS)
            else:
                self.strings += 1
                if self.strings > MAX_CELLS:
                    raise too_big("too_many_cells", max=MAX_CELLS)
        else:
            self.other += 1
            if self.other > MAX_OTHER_ELEMENTS:
                raise too_big("too_complex")
            if tag == "mergeCell":
                self.kept.merged.append(attributes.get("ref", ""))

    def _text(self, _text: str) -> None:
        self.valued = True

    def _end(self, name: str) -> None:
        if self.cell is not None and self.unit is not None:
            if self.depth == self.unit + 2:  # the end of the formula cell's <f> or <v>
                self.parser.CharacterDataHandler = None
            elif self.depth == self.unit + 1:  # of the formula cell
                if not self.valued:
                    self.kept.uncomputed.append(self.row * 2**15 + self.cell[0])
                self.cell = None
        if self.depth == self.unit:
            self.unit = None
            self.cells += self.width  # openpyxl hands over every cell left of the last one
            if self.cells > MAX_CELLS:
                raise too_big("too_many_cells", max=MAX_CELLS)
        self.depth -= 1


class Kept:
    """What the scan kept of one part that read-only openpyxl does not tell: its merged ranges
    ("C2:C4"; at most MAX_OTHER_ELEMENTS, as any element outside rows), and where it has a
    formula saved with no value (by a program that does not calculate: openpyxl, a script),
    which reads as empty, row * 2**15 + column (at most MAX_CELLS: 8 MB)."""

    def __init__(self) -> None:
        self.merged: list[str] = []
        self.uncomputed = array("q")

    def sort(self) -> None:
        """In the order they were read, unless rows are out of order (no tool writes that)."""
        if any(a > b for a, b in zip(self.uncomputed, self.uncomputed[1:], strict=False)):
            self.uncomputed = array("q", sorted(self.uncomputed))

    def uncomputed_at(self, row: int, column: int) -> bool:
        position = row * 2**15 + column
        index = bisect_left(self.uncomputed, position)
        return index < len(self.uncomputed) and self.uncomputed[index] == position


def _row_number(reference: str | None, previous: int) -> int:
    """A row's number as openpyxl reads it: its r attribute, or the one after the last."""
    try:
        return previous + 1 if reference is None else int(float(reference))
    except ValueError:
        return previous + 1  # openpyxl refuses it: not an .xlsx


def _column(reference: str) -> int:
    """The column number of a cell reference ("XFD7" is 16,384); 0 when it has none."""
    number = 0
    for letter in reference.upper():
        if not "A" <= letter <= "Z":
            break
        number = number * 26 + ord(letter) - 64
    return number
