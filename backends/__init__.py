"""layerbench's layer library: one Layer protocol, several backends, one reference.

>>> import backends
>>> from backends import specs
>>> conv = backends.build(specs.Conv2D(filters=8), input_shape=(1, 16, 16, 3), backend="numpy")
>>> backends.available_backends()
"""

from . import errors, specs
from .activations import ACTIVATIONS
from .losses import LossFunction
from .network import Network
from .optim import SGD, Adam, Momentum
from .registry import available_backends, build, get_backend

__all__ = [
    "ACTIVATIONS", "SGD", "Adam", "LossFunction", "Momentum", "Network", "available_backends",
    "build", "errors", "get_backend", "specs",
]
