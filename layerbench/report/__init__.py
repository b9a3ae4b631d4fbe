"""From run tables to ``results/tables`` and ``results/figures``.

:mod:`.tables` and :mod:`.figures` are pure functions of tidy tables (and of the example
images the runs keep); :func:`.build.build_report` loads, merges and saves.
"""

from .build import build_report

__all__ = ["build_report"]
