"""Data for the thesis experiments: DIV2K-layout images, MRI volumes, degradations.

Every loader raises :class:`DataError` naming the offending file or directory; nothing is
written by a loader, so a failure never leaves a half-made artefact behind.
"""

from .errors import DataError

__all__ = ["DataError"]
