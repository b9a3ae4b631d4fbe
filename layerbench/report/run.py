"""``layerbench report``: merged run tables -> results/tables and results/figures."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig, OmegaConf

from layerbench import schema
from layerbench.confdir import CONFIG_PATH


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="report")
def main(cfg: DictConfig) -> None:
    """Hydra entry point.

    Parameters
    ----------
    cfg : omegaconf.DictConfig
        The composed configuration.
    """
    from .build import build_report
    from .errors import report_errors

    c = schema.validate_report(OmegaConf.to_object(cfg))
    with report_errors(c.out):
        paths = build_report(c.runs, c.out, formats=c.formats, dpi=c.dpi, workers=c.workers)
    print(f"report: wrote {len(paths)} files under {c.out}")


if __name__ == "__main__":
    main()
