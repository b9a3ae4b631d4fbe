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
def main(cfg: DictConfig) -> None:
    """Hydra entry point.

    Parameters
    ----------
    cfg : omegaconf.DictConfig
        The composed configuration.
    """
    from .runner import run_experiment

    run_experiment(schema.validate(cfg))


if __name__ == "__main__":
    main()
