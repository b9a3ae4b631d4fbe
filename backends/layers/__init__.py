"""Generic layers: state, validation and caching around a backend's kernels."""

from __future__ import annotations

from .. import specs
from .base import BaseLayer, Layer, check_array
from .conv import ConnectedLayer, Conv2DAddLayer, Conv2DLayer
from .elementwise import ActivationLayer, ShortcutLayer
from .norm import BatchNormLayer
from .pool import AvgPool2DLayer, MaxPool2DLayer
from .reshape import PixelShuffleLayer, UpsampleLayer

LAYER_CLASSES: dict[type, type[BaseLayer]] = {
    specs.Conv2D: Conv2DLayer,
    specs.Conv2DAdd: Conv2DAddLayer,
    specs.Connected: ConnectedLayer,
    specs.MaxPool2D: MaxPool2DLayer,
    specs.AvgPool2D: AvgPool2DLayer,
    specs.PixelShuffle: PixelShuffleLayer,
    specs.Upsample: UpsampleLayer,
    specs.Activation: ActivationLayer,
    specs.Shortcut: ShortcutLayer,
    specs.BatchNorm: BatchNormLayer,
}


def layer_class(spec: specs.LayerSpec) -> type[BaseLayer]:
    """The layer class that runs ``spec``.

    Parameters
    ----------
    spec : backends.specs.LayerSpec
        A layer spec.

    Returns
    -------
    type
        A subclass of :class:`BaseLayer`.

    Raises
    ------
    KeyError
        No layer runs that spec class.
    """
    return LAYER_CLASSES[type(spec)]


__all__ = ["LAYER_CLASSES", "BaseLayer", "Layer", "check_array", "layer_class"]
