"""layerbench: reproduce and benchmark CPU super-resolution on the ``backends`` layers."""

__version__ = "0.1.0"
