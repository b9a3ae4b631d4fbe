"""Batch normalisation: not implemented by the JAX backend (see the package docstring).

The module exists so that every backend has the same module names; it lists what it lacks
in ``UNSUPPORTED``, and ``KernelBackend.kernel()`` raises ``NotSupportedError`` for those.
"""

__all__: list[str] = []
UNSUPPORTED = ("batchnorm_statistics", "batchnorm_forward", "batchnorm_backward")
