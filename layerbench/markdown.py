"""The one writer of GitHub markdown tables (no ``tabulate`` dependency, no imports at all).

Every ``.md`` table the project writes goes through :func:`table`: the run report's tables
(:func:`frame`), the benchmark summary, the cross-check, the README's MRI tables, peer-compare
and the training reports. A row is ``| a | b |``; the rule under the header is ``|---|---|``.
Cells are written as given (``str``); escaping ``|`` inside a cell is the caller's business
(:func:`escape`). ``None`` is a blank cell written ``| |`` (a grouped row under its group's
header, as the shipped weights' README shows ``evaluate``'s tables); an empty string keeps
its two spaces, ``|  |``, as the benchmark summary has always had them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def row(cells: Iterable[Any]) -> str:
    """One table line: ``| c1 | c2 | ... |`` (``None``: ``| |``).

    Parameters
    ----------
    cells : iterable
        The cells, written with ``str``.

    Returns
    -------
    str
        The line.

    Examples
    --------
    >>> row(["a", 1, None])
    '| a | 1 | |'
    """
    return "|" + "|".join(" " if c is None else f" {c} " for c in cells) + "|"


def table(header: Iterable[Any], rows: Iterable[Iterable[Any]],
          cell: Callable[[Any], str] = str) -> list[str]:
    """The lines of a table: header, rule, one line per row (``cell`` formats each value
    but ``None``).

    Parameters
    ----------
    header : iterable
        The column names.
    rows : iterable of iterable
        The rows' values.
    cell : callable, default str
        Formats each value but ``None``.

    Returns
    -------
    list of str
        The lines, without newlines.

    Examples
    --------
    >>> table(["model", "psnr"], [["bicubic", 30.1]])
    ['| model | psnr |', '|---|---|', '| bicubic | 30.1 |']
    """
    header = [str(h) for h in header]
    return [row(header), "|" + "---|" * len(header),
            *(row(None if v is None else cell(v) for v in r) for r in rows)]


def text(header: Iterable[Any], rows: Iterable[Iterable[Any]],
         cell: Callable[[Any], str] = str) -> str:
    """:func:`table` as one string ending in a newline.

    Parameters
    ----------
    header, rows, cell
        As in :func:`table`.

    Returns
    -------
    str
        The lines joined by newlines.
    """
    return "\n".join(table(header, rows, cell)) + "\n"


def number(v: Any) -> str:
    """Floats with at most 4 decimals, trailing zeros dropped (``0.5``, ``29.9812``);
    anything else as ``str``.

    Parameters
    ----------
    v : object
        The value.

    Returns
    -------
    str
        The cell.

    Examples
    --------
    >>> number(29.98123), number(0.5), number(3)
    ('29.9812', '0.5', '3')
    """
    return f"{v:.4f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)


def frame(df: Any) -> str:
    """A pandas DataFrame (columns as header, one line per row, :func:`number` cells).

    Parameters
    ----------
    df : pandas.DataFrame
        The table.

    Returns
    -------
    str
        As :func:`text`.
    """
    return text(df.columns, df.itertuples(index=False), cell=number)


def escape(v: Any) -> str:
    """A cell that may hold ``|``: escaped so it does not split the cell.

    Parameters
    ----------
    v : object
        The value.

    Returns
    -------
    str
        ``str(v)`` with ``|`` escaped.
    """
    return str(v).replace("|", "\\|")
