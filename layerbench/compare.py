"""``layerbench compare A [B]``: are two sets of result tables equal within tolerance?

``A`` and ``B`` are results roots (a directory holding ``tables/``, or a ``tables/``
directory itself); ``B`` defaults to the committed ``results/tables``. Every CSV table present
in both is read as text and its rows are joined on their keys: the columns that have no
tolerance in :data:`backends.testing.tolerances.RESULT_TOLERANCES` (names, scales, counts,
labels). A row of one side without a partner on the other, or a changed key, is an error.

Each metric cell is split into its numbers and the text around them (``"30.11-30.14"`` is
the numbers 30.11 and 30.14 around ``"-"``), so ranges and labelled values compare too. Per
table and column the largest absolute difference ``max |a - b|`` is reported; the column
passes when::

    max |a - b| <= tol + 10**-d

where ``tol`` is the column's tolerance and ``d`` the number of decimals the table prints
(one unit in the last printed place is rounding: a difference of 1e-6 can flip it). Columns
of times are not compared. Tables that measure the machine (benchmarks, cross-checks,
timings) are not compared (:data:`MACHINE_TABLES`). Figures are pure functions of these
tables and are compared through them, not pixel by pixel.

With ``--bitwise`` every compared cell must be identical text. The verdict always says
which tables were also bitwise equal.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from backends.testing.tolerances import result_tolerance

__all__ = ["MACHINE_TABLES", "ColumnDiff", "TableDiff", "compare", "compare_tables",
           "main", "tables_dir"]

# Tables that measure the machine rather than compute a result: their numbers are times,
# or errors of a cross-check on this CPU. Not compared.
MACHINE_TABLES = ("bench_summary", "crosscheck", "peer_compare", "peer_compare_edsr_x2", "peers",
                  "peers_train")

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf", re.IGNORECASE)


@dataclass
class ColumnDiff:
    """One metric column of one table: its largest difference and whether it passes.

    Parameters
    ----------
    column : str
        The column's name.
    tolerance : float
        ``tol + 10**-d`` (see the module docstring).
    max_abs : float
        ``max |a - b|`` over the joined rows (0 when every cell is equal; ``inf`` when the
        text around the numbers differs or a value is missing on one side only).
    bitwise : bool
        Every cell identical as text.
    """

    column: str
    tolerance: float
    max_abs: float = 0.0
    bitwise: bool = True

    @property
    def ok(self) -> bool:
        """``max_abs <= tolerance``."""
        return self.max_abs <= self.tolerance


@dataclass
class TableDiff:
    """The comparison of one table.

    Parameters
    ----------
    name : str
        The table's file stem.
    rows : int
        Rows joined on their keys.
    columns : list of ColumnDiff
        The compared metric columns.
    errors : list of str
        Structural errors: missing or extra rows or columns, a changed key.
    """

    name: str
    rows: int = 0
    columns: list[ColumnDiff] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def bitwise(self) -> bool:
        """No structural error and every compared cell identical."""
        return not self.errors and all(c.bitwise for c in self.columns)

    def ok(self, bitwise: bool = False) -> bool:
        """No structural error and every column within tolerance (``bitwise``: identical).

        Parameters
        ----------
        bitwise : bool
            Require identical cells instead of the tolerance.

        Returns
        -------
        bool
        """
        if bitwise:
            return self.bitwise
        return not self.errors and all(c.ok for c in self.columns)


def tables_dir(root: str | Path) -> Path:
    """The ``tables/`` directory of a results root (or ``root`` itself if it holds CSVs).

    Parameters
    ----------
    root : str or Path
        A results root (``results``, a reproduce run's output) or its ``tables`` directory.

    Returns
    -------
    Path

    Raises
    ------
    FileNotFoundError
        Neither ``root/tables`` nor ``root`` holds a CSV table.
    """
    root = Path(root)
    for cand in (root / "tables", root):
        if cand.is_dir() and any(cand.glob("*.csv")):
            return cand
    raise FileNotFoundError(f"no result tables (*.csv) in {root} or {root / 'tables'}: "
                            "expected a results root holding tables/")


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    return (rows[0], rows[1:]) if rows else ([], [])


def _split(cell: str) -> tuple[str, list[float], int]:
    """A cell's text skeleton (numbers replaced by ``#``), its numbers, max decimals."""
    nums = _NUMBER.findall(cell)
    decimals = max((len(n.split(".")[1].split("e")[0].split("E")[0]) for n in nums if "." in n),
                   default=0)
    return _NUMBER.sub("#", cell), [float(n) for n in nums], decimals


def _diff(a: str, b: str) -> tuple[float, int]:
    """``max |a - b|`` of two cells' numbers (``inf`` if their text differs) and decimals."""
    if a == b:
        return 0.0, 0
    (sa, na, da), (sb, nb, db) = _split(a), _split(b)
    if sa != sb or len(na) != len(nb):
        return math.inf, max(da, db)
    worst = 0.0
    for x, y in zip(na, nb, strict=True):
        if math.isnan(x) and math.isnan(y):
            continue
        d = abs(x - y)
        worst = max(worst, d if not math.isnan(d) else math.inf)
    return worst, max(da, db)


def _keyed(header: list[str], rows: list[list[str]], keys: list[str]) -> dict[tuple, list[str]]:
    idx = [header.index(k) for k in keys]
    out: dict[tuple, list[str]] = {}
    for row in rows:
        key = tuple(row[i] for i in idx)
        n = 0
        while key + (n,) in out:  # a repeated key: joined by order of appearance
            n += 1
        out[key + (n,)] = row
    return out


def compare_tables(a: Path, b: Path) -> TableDiff:
    """Compare one table (CSV) of two results.

    Parameters
    ----------
    a, b : Path
        The two CSV files.

    Returns
    -------
    TableDiff
        The joined rows, one :class:`ColumnDiff` per metric column, structural errors.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text("image,psnr\\nbaby,30.114\\nbird,28.000\\n")
    >>> _ = (d / "b.csv").write_text("image,psnr\\nbaby,30.118\\nbird,28.000\\n")
    >>> diff = compare_tables(d / "a.csv", d / "b.csv")
    >>> diff.rows, diff.ok(), diff.bitwise
    (2, True, False)
    >>> [(c.column, round(c.max_abs, 6), c.tolerance) for c in diff.columns]
    [('psnr', 0.004, 0.011)]
    >>> import shutil; shutil.rmtree(d)
    """
    diff = TableDiff(a.stem)
    ha, ra = _read(a)
    hb, rb = _read(b)
    if set(ha) != set(hb):
        diff.errors.append(f"columns differ: only in A {sorted(set(ha) - set(hb))}, "
                           f"only in B {sorted(set(hb) - set(ha))}")
        return diff
    tol = {c: result_tolerance(c) for c in ha}
    keys = [c for c in ha if tol[c] is False]
    metrics = [c for c in ha if tol[c] not in (False, None)]
    ka, kb = _keyed(ha, ra, keys), _keyed(hb, rb, keys)
    for label, only in (("missing in A", kb.keys() - ka.keys()),
                        ("extra in A", ka.keys() - kb.keys())):
        for key in sorted(only, key=str):
            shown = ", ".join(f"{k}={v}" for k, v in zip(keys, key[:-1], strict=True))
            diff.errors.append(f"row {label}: {shown}")
    common = ka.keys() & kb.keys()
    diff.rows = len(common)
    for col in metrics:
        i, j = ha.index(col), hb.index(col)
        cd, decimals = ColumnDiff(col, 0.0), 0
        for key in common:
            x, y = ka[key][i], kb[key][j]
            d, dec = _diff(x, y)
            decimals = max(decimals, dec)
            cd.max_abs = max(cd.max_abs, d)
            cd.bitwise &= x == y
        cd.tolerance = float(tol[col]) + (10.0 ** -decimals if decimals else 0.0)
        diff.columns.append(cd)
    return diff


def compare(a: str | Path, b: str | Path) -> tuple[list[TableDiff], list[str]]:
    """Compare every table of two results roots.

    Parameters
    ----------
    a, b : str or Path
        Results roots (see :func:`tables_dir`).

    Returns
    -------
    diffs : list of TableDiff
        One per table present in both (machine tables excluded).
    errors : list of str
        Tables of ``a`` missing from ``b``.
    """
    ta, tb = tables_dir(a), tables_dir(b)
    diffs, errors = [], []
    for path in sorted(ta.glob("*.csv")):
        if path.stem in MACHINE_TABLES:
            continue
        other = tb / path.name
        if not other.is_file():
            errors.append(f"{path.stem}: table in {ta} has no counterpart in {tb}")
            continue
        diffs.append(compare_tables(path, other))
    return diffs, errors


def report(diffs: list[TableDiff], errors: list[str], *, bitwise: bool = False,
           verbose: bool = False) -> tuple[str, int]:
    """The one-screen verdict and the exit status (0 all pass, 1 otherwise).

    Parameters
    ----------
    diffs, errors
        What :func:`compare` returned.
    bitwise : bool
        Judge by identical cells instead of the tolerances.
    verbose : bool
        List every column's max difference, not only failing ones.

    Returns
    -------
    text : str
        One line per table (and per failing column), then the verdict.
    status : int
        0 when every table passes and none is missing, else 1.
    """
    lines = []
    for d in diffs:
        state = "bitwise" if d.bitwise else ("within tolerance" if d.ok() else "DIFFERENT")
        lines.append(f"{d.name}: {d.rows} rows, {state}")
        lines += [f"  {e}" for e in d.errors[:10]]
        if len(d.errors) > 10:
            lines.append(f"  ... {len(d.errors) - 10} more")
        for c in d.columns:
            if verbose or not c.ok or (bitwise and not c.bitwise):
                flag = "" if c.ok else "  FAIL"
                lines.append(f"  {c.column}: max |A-B| = {c.max_abs:.3g} "
                             f"(tolerance {c.tolerance:.3g}){flag}")
    lines += [f"error: {e}" for e in errors]
    good = [d for d in diffs if d.ok(bitwise)]
    nbit = sum(d.bitwise for d in diffs)
    status = 0 if len(good) == len(diffs) and not errors else 1
    within = sum(d.ok() for d in diffs)
    lines.append(f"equal within tolerance: {within} of {len(diffs)} tables; bitwise: {nbit}"
                 + ("" if not errors else f"; {len(errors)} missing") +
                 " (figures are drawn from these tables)")
    return "\n".join(lines), status


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments.

    Parameters
    ----------
    p : argparse.ArgumentParser
    """
    p.add_argument("a", type=Path, help="a results root (holding tables/)")
    p.add_argument("b", type=Path, nargs="?", default=None,
                   help="the reference results root (default: the committed results)")
    p.add_argument("--bitwise", action="store_true",
                   help="require identical cells instead of the tolerances")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="list every column's max difference")


def run(a: argparse.Namespace) -> None:
    """Run the command: print the verdict, exit 0 (equal) or 1.

    Parameters
    ----------
    a : argparse.Namespace
    """
    from layerbench.confdir import RESULTS

    b = a.b if a.b is not None else Path(RESULTS)
    text, status = report(*compare(a.a, b), bitwise=a.bitwise, verbose=a.verbose)
    print(text)
    raise SystemExit(status)


def main(argv: list[str] | None = None) -> None:
    """``python -m layerbench.compare A [B]``.

    Parameters
    ----------
    argv : list of str, optional
    """
    p = argparse.ArgumentParser(prog="layerbench compare")
    add_arguments(p)
    run(p.parse_args(argv if argv is not None else sys.argv[1:]))
