"""Give the C heap's freed pages back to the operating system, after a model's weights load
and after ``algo="auto"`` times its candidates.

Building EDSR x2 (40.7 M parameters) allocates each weight three times on the way: the
network's default initialisation, the float64 draw of :func:`.graph.init_like_torch` (or the
arrays read from a weights file) and the float32 copy the layers keep. The temporaries are
freed, but they are a few MB each, below glibc's mmap threshold, so they come from the heap,
where the float32 copies sit between them and the heap cannot shrink: measured, the process
held 668 MiB resident after building EDSR x2 with 155 MiB of live weights, and 213 MiB after
``malloc_trim(0)``, which returns free pages from the middle of the heap as well.

:func:`backends.autotune.choose` runs each candidate algorithm four times on the full input;
on the numba backend that churn left the heap holding freed pages: EDSR x2's first
``super_resolve`` on 510x339 (2 threads, every shape timed) peaked at 1,434 MiB RSS, and at
1,137 MiB with a trim after each measurement (the warm-cache call: 1,273 MiB).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_freed_memory() -> bool:
    """``malloc_trim(0)`` where the C library has it (glibc); True if it released pages.
    Elsewhere (musl, macOS, Windows) a no-op that returns False."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
