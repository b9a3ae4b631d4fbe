"""``layerbench reproduce``: the Hydra entry point of the thesis experiments.

    layerbench reproduce experiment=mri backend=cython backend.threads=2
    layerbench reproduce -m experiment=div2k,mri          # the main job, then the report
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from layerbench import schema
from layerbench.confdir import CONFIG_PATH


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="config")
def run(cfg: DictConfig) -> None:
    """Hydra entry point: one experiment (the report follows in Hydra's callback).

    Parameters
    ----------
    cfg : omegaconf.DictConfig
        The composed configuration.
    """
    from .runner import run_experiment

    run_experiment(schema.validate(cfg))


def main() -> None:
    """Command-line entry point: :func:`run` through Hydra (overrides and ``-m`` from
    ``sys.argv``), then the failure of the end-of-run report, if any, is raised: the
    command fails when its report does.

    Raises
    ------
    layerbench.report.errors.ReportError
        The report could not be written (naming the path and the reason).
    """
    from layerbench.report.errors import raise_recorded

    run()
    raise_recorded()


if __name__ == "__main__":
    main()
