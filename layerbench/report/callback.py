"""Hydra callback: build the report when a run or a whole multirun ends.

In a multirun the callback runs once in the launching process after every job finished, so
the report merges all sweep points (whatever the launcher: basic, joblib, submitit, ray).
"""

from __future__ import annotations

import logging
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class ReportCallback(Callback):
    """Build the report of ``config.report`` at the end of a run or multirun.

    Enabled by ``report_on_end=true``. After a single run that failed it builds nothing
    (the run's error is the message to show); after a multirun it builds once, from every
    job's tables. A report that fails is recorded (:func:`layerbench.report.errors.record`)
    for the command to raise once Hydra returns: Hydra would turn it into a warning.
    """

    _job_failed = False

    def on_job_end(self, config: DictConfig, job_return: Any = None, **kwargs: Any) -> None:
        from hydra.core.utils import JobStatus

        # a failed single run has nothing new to report; its error is the message to show
        self._job_failed = getattr(job_return, "status", None) == JobStatus.FAILED

    def _build(self, config: DictConfig) -> None:
        if not config.get("report_on_end", False):
            return
        from layerbench import schema

        from . import errors
        from .build import build_report

        try:
            r = schema.report_of(config)
            with errors.report_errors(r.out):
                paths = build_report(r.runs, r.out, formats=r.formats, dpi=r.dpi,
                                     workers=r.workers)
        except Exception as err:
            errors.record(err)
            return
        print(f"report: wrote {len(paths)} files under {r.out}")

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self._job_failed:
            self._build(config)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._build(config)
