"""Output arrays recycled between the layers of a network's forward pass and between passes.

A layer's output of a 510x339 image with 64 channels is 44 MB, above glibc's largest mmap
threshold (32 MB): every such ``np.empty`` is a fresh mapping, and the first write to each of
its pages faults and zeroes it in the kernel. Measured on EDSR-baseline x2, 510x339, cython,
one thread: 24,500 page faults and 0.24-0.35 s of system time per forward pass, ~18 % of it.
A :class:`BufferPool` keeps the memory of outputs nobody holds any more and hands it out
again, so a forward pass after the first touches no new page.

Safety does not depend on the caller: an array from the pool is a view of one block the pool
owns, and every NumPy view of it (however derived) holds a reference to that block, so a
block is handed out again only when no array anywhere still refers to it (its reference
count is back to the pool's own).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import sys
import threading

import numpy as np

#: Bytes a pool without a limit of its own holds outside :meth:`BufferPool.budget`, as
#: ``layerbench.models.inference.MEMORY_BUDGET``: the activation memory a model's default
#: tiling plan stays within.
LIMIT = 896 * 2**20

_active: contextvars.ContextVar[BufferPool | None] = contextvars.ContextVar(
    "layerbench_buffer_pool", default=None)


class BufferPool:
    """Blocks of memory handed out as arrays and taken back once no array refers to them.

    A block is reused for a request of at least half its size (see ``slack``). When no free
    block fits, a new one is allocated; free blocks are dropped first (largest first) as far
    as needed to keep the pool within its limit, so a pass whose live arrays fit in the limit never
    holds more than it, and one whose live arrays exceed it holds no free block beyond them
    (its peak is the peak without a pool). Without a bound (:meth:`budget` of None) nothing
    is given back, so free blocks that fit no later request of the pass stay and the peak
    can pass the one without a pool. Blocks not reused during a :meth:`scope` are dropped
    when it ends; between passes the pool keeps the blocks of the last one (at most the
    limit): :meth:`clear` drops them. Arrays a caller keeps count towards the limit.

    Parameters
    ----------
    limit : int, optional
        Bytes of blocks, free or in use, above which free blocks are given back. None (the
        default): the memory budget of the pass (:meth:`budget`), :data:`LIMIT` outside one.

    Examples
    --------
    >>> pool = BufferPool()
    >>> with pool.scope():
    ...     a = empty((2, 3), np.float32)
    ...     address = a.ctypes.data
    ...     del a
    ...     b = empty((3, 2), np.float32)
    >>> b.ctypes.data == address
    True
    """

    def __init__(self, limit: int | None = None):
        self.limit = limit
        self._budget: float = LIMIT
        self._blocks: list[np.ndarray] = []
        self._used: set[int] = set()
        self._lock = threading.Lock()
        probe = [np.empty(1, np.uint8)]
        self._idle = sys.getrefcount(probe[0])  # the count of a block no array refers to

    def __getstate__(self):  # a copy or an unpickled network starts with an empty pool
        return {}

    def __setstate__(self, state):
        self.__init__()

    def _free(self, i: int) -> bool:
        return sys.getrefcount(self._blocks[i]) <= self._idle

    def empty(self, shape, dtype, *, slack: float = 2.0) -> np.ndarray:
        """An uninitialised C-contiguous array, from a free block if one fits.

        Parameters
        ----------
        shape : tuple of int
        dtype : numpy.dtype
        slack : float, default 2.0
            Largest block reused, as a multiple of the bytes needed. An array handed to a
            caller who may keep it asks for little slack, so that it neither holds much
            unused memory nor takes a larger block the next pass needs.

        Returns
        -------
        numpy.ndarray
            Writeable, C-contiguous, of ``shape`` and ``dtype``.
        """
        dtype = np.dtype(dtype)
        need = max(math.prod(shape) * dtype.itemsize, 1)
        with self._lock:
            best = None
            for i in range(len(self._blocks)):  # no local name may refer to a block here
                size = self._blocks[i].size
                if need <= size <= slack * need and self._free(i) and (
                        best is None or size < self._blocks[best].size):
                    best = i
            if best is None:
                self._make_room(need)
                self._blocks.append(np.empty(need, np.uint8))
                best = len(self._blocks) - 1
            self._used.add(id(self._blocks[best]))
            return self._blocks[best][:need].view(dtype)[:math.prod(shape)].reshape(shape)

    def _make_room(self, need: int) -> None:
        """Drop free blocks, largest first, until ``need`` more bytes fit in the limit."""
        free = sorted((i for i in range(len(self._blocks)) if self._free(i)),
                      key=lambda i: -self._blocks[i].size)
        held = sum(self._blocks[i].size for i in range(len(self._blocks)))
        gone = set()
        for i in free:
            if held + need <= self._limit():
                break
            held -= self._blocks[i].size
            gone.add(i)
        self._drop(lambda i: i not in gone)

    def _limit(self) -> float:
        return self._budget if self.limit is None else self.limit

    def _drop(self, keep_free) -> None:
        """Forget the free blocks ``i`` for which ``keep_free(i)`` is false."""
        keep = [i for i in range(len(self._blocks)) if not self._free(i) or keep_free(i)]
        self._blocks = [self._blocks[i] for i in keep]

    def release(self) -> None:
        """Drop the free blocks not handed out since the last call, and free blocks beyond
        the limit (largest first)."""
        with self._lock:
            self._drop(lambda i: id(self._blocks[i]) in self._used)
            self._make_room(0)
            self._used = set()

    def clear(self) -> None:
        """Drop every free block (memory held between passes goes back to the system)."""
        with self._lock:
            self._drop(lambda i: False)
            self._used = set()

    @property
    def nbytes(self) -> int:
        """Bytes held by the pool (free or in use)."""
        return sum(b.size for b in self._blocks)

    @contextlib.contextmanager
    def budget(self, nbytes: int | None):
        """Inside the block, a pool without a ``limit`` of its own holds up to ``nbytes``
        (None: no bound, so the next pass of the same shape allocates nothing, as ONNX
        Runtime's arena or TensorFlow's allocator keep their peak). What the pool holds when
        the block ends stays until a pass under a smaller limit or :meth:`clear`. The budget
        belongs to the pool, not to a thread: a network runs one pass at a time.

        Parameters
        ----------
        nbytes : int or None
            The memory budget of the passes inside the block.
        """
        with self._lock:
            before, self._budget = self._budget, math.inf if nbytes is None else nbytes
        try:
            yield self
        finally:
            with self._lock:
                self._budget = before

    @contextlib.contextmanager
    def scope(self):
        """Make :func:`empty` draw from this pool inside the block; on leaving it, release
        the blocks the block did not use (:meth:`release`)."""
        token = _active.set(self)
        try:
            yield self
        finally:
            _active.reset(token)
            self.release()


def empty(shape, dtype) -> np.ndarray:
    """``numpy.empty(shape, dtype)``, from the active :class:`BufferPool` if there is one.

    Parameters
    ----------
    shape : tuple of int
    dtype : numpy.dtype

    Returns
    -------
    numpy.ndarray
        Uninitialised and C-contiguous.
    """
    pool = _active.get()
    return np.empty(shape, dtype) if pool is None else pool.empty(tuple(shape), dtype)
