"""Scoring protocols of the MRI experiment: ``clean`` (ours) and ``thesis`` (the thesis' own).

A protocol is a set of conventions (:class:`Conventions`); a *variant* is a protocol with
some conventions switched, run under its own label in the same job (the main job runs
``clean``, ``thesis`` in both degradation orders and the steps of the convention ablation).

=============  =========================================  =========================================
convention     clean                                      thesis (its scoring notebook)
=============  =========================================  =========================================
order          ``experiment.degrade.order``               the same (the seeds: resize, then blur)
intensity      ``uint8``: volume mapped to uint8 by the   ``float``: volume min-max scaled to
               dataset's rule, outputs clipped/rounded    [0, 1]; outputs unclipped floats, bicubic
                                                          min-max scaled per slice, SR per slice
                                                          and per channel
psnr_range     ``experiment.data_range`` (255)            1
ssim_range     ``experiment.data_range`` (255)            2 (scikit-image's 2020 float default)
rotation       ``reference``: HR and input rotated alike  ``back``: the LR rotated, the output
                                                          rotated back and compared with the
                                                          unrotated HR
post_bet       no                                         yes: HR brain mask applied to both
                                                          images, whole image scored
slices         ``range``: ``experiment.slices``           ``nonblank``: every non-blank slice of
                                                          ``range(0, depth, slices.step)``
=============  =========================================  =========================================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from layerbench.schema import ConventionsConfig, ExperimentConfig, SliceConfig

PROTOCOLS = ("clean", "thesis")


@dataclass(frozen=True)
class Conventions:
    """The conventions one variant runs with (recorded in every row).

    Parameters
    ----------
    order : str
        The degradation's order.
    intensity : {"uint8", "float"}
        The intensity pipeline.
    psnr_range, ssim_range : float
        The metrics' data ranges.
    rotation : {"reference", "back"}
        Rotate the HR reference with the input, or the output back.
    post_bet : bool
        Score post-BET too.
    slices : {"range", "nonblank"}
        The slice rule.
    """

    order: str
    intensity: str  # "uint8" | "float"
    psnr_range: float
    ssim_range: float
    rotation: str  # "reference" | "back"
    post_bet: bool
    slices: str  # "range" | "nonblank"


@dataclass(frozen=True)
class Variant:
    """A labelled protocol variant of one run: its conventions, weightings and angles.

    Parameters
    ----------
    label : str
        Its name in the tables.
    protocol : str
        The protocol it starts from.
    conventions : Conventions
        The resolved conventions.
    weights : tuple of str or None
        Its weightings (None: the dataset's).
    angles : tuple of float
        Its angles.
    slices : (int, int or None, int)
        ``(start, stop, step)``.
    """

    label: str
    protocol: str
    conventions: Conventions
    weights: tuple[str, ...] | None
    angles: tuple[float, ...]
    slices: tuple[int, int | None, int]  # start, stop, step

    def slice_config(self) -> SliceConfig:
        """The variant's slices as a ``SliceConfig``.

        Returns
        -------
        SliceConfig
            Built from ``slices``.
        """
        return SliceConfig(*self.slices)


def defaults(protocol: str, e: ExperimentConfig) -> Conventions:
    """The conventions of a named protocol (``clean`` reads the experiment's own keys).

    Parameters
    ----------
    protocol : {"clean", "thesis"}
        The protocol.
    e : ExperimentConfig
        The experiment (its degradation order and data range).

    Returns
    -------
    Conventions
        The protocol's conventions.
    """
    if protocol == "clean":
        return Conventions(order=e.degrade.order, intensity="uint8",
                           psnr_range=float(e.data_range), ssim_range=float(e.data_range),
                           rotation="reference", post_bet=False, slices="range")
    return Conventions(order=e.degrade.order, intensity="float", psnr_range=1.0,
                       ssim_range=2.0, rotation="back", post_bet=True, slices="nonblank")


def resolve(protocol: str, overrides: ConventionsConfig, e: ExperimentConfig) -> Conventions:
    """``defaults(protocol)`` with every non-null key of ``overrides`` switched.

    Parameters
    ----------
    protocol : str
        The protocol.
    overrides : ConventionsConfig
        The switches.
    e : ExperimentConfig
        The experiment.

    Returns
    -------
    Conventions
        The resolved conventions.
    """
    switched = {k: v for k, v in dataclasses.asdict(overrides).items() if v is not None}
    return dataclasses.replace(defaults(protocol, e), **switched)


def variants(e: ExperimentConfig) -> list[Variant]:
    """The run's own protocol (label = its name) followed by ``experiment.variants``.

    Parameters
    ----------
    e : ExperimentConfig
        The experiment.

    Returns
    -------
    list of Variant
        At least the run's own protocol.
    """
    def grid(s: SliceConfig) -> tuple[int, int | None, int]:
        return (s.start, s.stop, s.step)

    out = [Variant(e.protocol, e.protocol, resolve(e.protocol, e.conventions, e), None,
                   tuple(e.angles), grid(e.slices))]
    for v in e.variants:
        out.append(Variant(v.label, v.protocol, resolve(v.protocol, v.conventions, e),
                           None if v.weights is None else tuple(v.weights),
                           tuple(e.angles if v.angles is None else v.angles),
                           grid(e.slices if v.slices is None else v.slices)))
    return out


def describe(c: Conventions) -> dict[str, object]:
    """Columns every row of a variant carries.

    Parameters
    ----------
    c : Conventions
        The variant's conventions.

    Returns
    -------
    dict
        ``intensity``, ``psnr_range``, ``ssim_range``, ``rotation_protocol``, ``post_bet``
        and ``slice_rule``.
    """
    return {"intensity": c.intensity, "psnr_range": c.psnr_range, "ssim_range": c.ssim_range,
            "rotation_protocol": c.rotation, "post_bet": c.post_bet, "slice_rule": c.slices}
