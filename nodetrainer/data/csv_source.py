"""CSV files: a header row, one target column, every other column a numeric feature.

Rows are read with the csv module and converted column-wise with numpy. Problems name
the file, the line as numbered in the file (the header is line 1) and the column.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import DataError, Problem, did_you_mean
from .raw import RawData

DELIMITERS = (",", ";", "\t")


def load_csv(path: Path, target: str, task: str) -> RawData:
    """Features as float64 [N, F]; the target as stripped strings (classification) or float64 [N, 1]."""
    file = str(path)
    delimiter, rows = _read_rows(path)
    if not rows:
        raise DataError(Problem(f"CSV file {file} is empty; it needs a header row and data rows", file=file))
    header = [name.strip() for name in rows[0]]
    _check_header(header, file)
    data = rows[1:]
    if not data:
        raise DataError(Problem(f"CSV file {file} has a header but no data rows", file=file, line=1))
    if target not in header:
        raise DataError(Problem(f"target column '{target}' not found{did_you_mean(target, header)}; "
                                f"columns: {', '.join(header)} (set data.target)", file=file, line=1))
    if len(header) < 2:
        raise DataError(Problem(f"CSV file {file} has only the target column '{target}' and no feature columns",
                                file=file, line=1))
    lengths = np.fromiter(map(len, data), dtype=np.int64, count=len(data))
    ragged = np.flatnonzero(lengths != len(header))
    if ragged.size:
        k = int(ragged[0])
        line = _line_of(path, delimiter, k + 1)
        raise DataError(Problem(f"line {line} has {lengths[k]} values but the header has {len(header)} columns",
                                file=file, line=line))
    cells = np.array(data, dtype=object)  # object -> float conversion is twice as fast as from fixed-width str
    t = header.index(target)
    features = [i for i in range(len(header)) if i != t]
    x = _numbers(cells[:, features], [header[i] for i in features], path, delimiter)
    y = np.char.strip(cells[:, t].astype(str))
    empty = np.flatnonzero(y == "")
    if empty.size:
        line = _line_of(path, delimiter, int(empty[0]) + 1)
        raise DataError(Problem(f"line {line}, column '{target}': missing target value", file=file, line=line))
    if task == "regression":
        y = _numbers(y[:, None], [target], path, delimiter)
    return RawData(x, y, file=file, target_name=f"column '{target}'", columns=[header[i] for i in features])


def read_feature_rows(path: Path, columns: list[str] | None, width: int) -> tuple[np.ndarray, list[int]]:
    """The rows of a CSV file of samples to predict, as float64 [N, width]: the named `columns` in that order
    (other columns, such as a target, are ignored), or, when `columns` is None, every column in file order;
    and the file line of each row.
    DataError naming the file, the line and the column for a missing column or a cell that is not a number."""
    file = str(path)
    delimiter, rows = _read_rows(path)
    if not rows:
        raise DataError(Problem(f"CSV file {file} is empty; it needs a header row and data rows", file=file))
    header = [name.strip() for name in rows[0]]
    _check_header(header, file)
    if len(rows) < 2:
        raise DataError(Problem(f"CSV file {file} has a header but no data rows", file=file, line=1))
    if columns is None:
        if len(header) != width:
            raise DataError(Problem(f"the file has {len(header)} columns but the model takes {width} features",
                                    file=file, line=1))
        picked = list(range(len(header)))
    else:
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataError(Problem(f"column '{missing[0]}' is missing{did_you_mean(missing[0], header)}; "
                                    f"the model was trained on columns {', '.join(columns)}", file=file, line=1))
        picked = [header.index(c) for c in columns]
    for k, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            line = _line_of(path, delimiter, k)
            raise DataError(Problem(f"line {line} has {len(row)} values but the header has {len(header)} columns",
                                    file=file, line=line))
    cells = np.array(rows[1:], dtype=object)[:, picked]
    return _numbers(cells, [header[i] for i in picked], path, delimiter), _row_lines(path, delimiter)[1:]


def _row_lines(path: Path, delimiter: str) -> list[int]:
    """The file line on which each non-blank row (the header first) ends."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        return [reader.line_num for row in reader if _filled(row)]


def _read_rows(path: Path) -> tuple[str, list[list[str]]]:
    file = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            first = f.readline()
            f.seek(0)
            delimiter = _delimiter(first, path)
            rows = [row for row in csv.reader(f, delimiter=delimiter) if _filled(row)]
    except UnicodeDecodeError as e:
        raise DataError(Problem(f"CSV file {file} is not UTF-8 text (byte {e.start}); save it as UTF-8",
                                file=file)) from None
    except csv.Error as e:
        raise DataError(Problem(f"CSV file {file} cannot be parsed: {e}", file=file)) from None
    except OSError as e:
        raise DataError(Problem(f"cannot read CSV file {file}: {e.strerror or e}", file=file)) from None
    return delimiter, rows


def _filled(row: list[str]) -> bool:
    """False for a blank line (no cells, or one empty cell)."""
    return bool(row) and (len(row) > 1 or bool(row[0].strip()))


def _delimiter(header_line: str, path: Path) -> str:
    """Tab for .tsv files, else whichever of , ; and tab occurs most in the header line (comma on a tie)."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _check_header(header: list[str], file: str) -> None:
    for i, name in enumerate(header):
        if not name:
            raise DataError(Problem(f"header column {i + 1} has no name", file=file, line=1))
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(Problem(f"column '{name}' appears twice in the header", file=file, line=1))
        seen.add(name)


def _numbers(cells: np.ndarray, names: list[str], path: Path, delimiter: str) -> np.ndarray:
    """Converts a [N, C] block of strings to float64, or names the first bad cell's line and column."""
    try:
        values = cells.astype(np.float64)
    except ValueError:
        values = None
    if values is not None:
        bad = ~np.isfinite(values)
        if not bad.any():
            return values
        row, col = (int(i) for i in np.argwhere(bad)[0])
        why = f"'{str(cells[row, col]).strip()}' is not a finite number"
    else:
        row, col = _first_unparsable(cells)
        value = str(cells[row, col]).strip()
        why = "missing value" if value == "" else f"'{value}' is not a number"
    line = _line_of(path, delimiter, row + 1)
    raise DataError(Problem(f"line {line}, column '{names[col]}': {why}; every column but the target must be numeric",
                            file=str(path), line=line))


def _first_unparsable(cells: np.ndarray) -> tuple[int, int]:
    """(row, column) of the first cell in file order that is not a number (only run on the error path)."""
    best: tuple[int, int] | None = None
    for col in range(cells.shape[1]):
        try:
            cells[:, col].astype(np.float64)
            continue
        except ValueError:
            pass
        for row, value in enumerate(cells[:, col]):
            if best is not None and row >= best[0]:
                break
            try:
                float(value)
            except ValueError:
                best = (row, col)
                break
    assert best is not None
    return best


def _line_of(path: Path, delimiter: str, k: int) -> int:
    """The file line on which the k-th non-blank row (0 = the header) ends."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        seen = -1
        for row in reader:
            if _filled(row):
                seen += 1
                if seen == k:
                    return reader.line_num
    return k + 1
