"""The buffer pool behind the layers' outputs: memory is reused only when no array refers to
it, the pool stays within its limit, and a network's repeated passes give the same results
without touching an output the caller still holds."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from backends import buffers, specs
from backends.network import Network


def _address(a):
    return a.__array_interface__["data"][0]


def test_a_block_is_reused_only_when_nothing_refers_to_it():
    pool = buffers.BufferPool()
    with pool.scope():
        a = buffers.empty((100, 10), np.float32)
        at = _address(a)
        view = a[3:5, ::2].T  # a view of a view still holds the block
        del a
        b = buffers.empty((1000,), np.float32)
        assert _address(b) != at
        del view
        c = buffers.empty((10, 100), np.float32)
        assert _address(c) == at
        assert c.shape == (10, 100) and c.dtype == np.float32 and c.flags.c_contiguous
        del c
        assert _address(buffers.empty((499,), np.float32)) != at  # under half its size
        assert _address(buffers.empty((500,), np.float64)) == at


def test_outside_a_scope_empty_is_numpy_empty():
    a = buffers.empty((2, 3), np.float64)
    assert a.shape == (2, 3) and a.base is None


def test_the_pool_gives_free_blocks_back_to_stay_within_its_limit():
    pool = buffers.BufferPool(limit=9_000)
    with pool.scope():
        a = buffers.empty((1000,), np.float32)  # 4,000 bytes
        del a
        b = buffers.empty((1500,), np.float32)  # 6,000: with the free 4,000, over the limit
        assert pool.nbytes == 6000
        c = buffers.empty((1000,), np.float32)  # live arrays may pass it: they are needed
        assert pool.nbytes == 10_000
        del b, c
    assert pool.nbytes == 4000  # both used in the scope; the larger went, over the limit
    with pool.scope():
        pass
    assert pool.nbytes == 0  # not used in that scope: dropped
    pool.limit = 0
    with pool.scope():
        e = buffers.empty((10,), np.float32)
    assert pool.nbytes == 40  # still held by e
    del e
    pool.release()
    assert pool.nbytes == 0
    pool.clear()


def test_copies_and_pickles_start_empty():
    pool = buffers.BufferPool(limit=123)
    with pool.scope():
        keep = buffers.empty((10,), np.float32)
    for other in (copy.deepcopy(pool), pickle.loads(pickle.dumps(pool))):
        assert other.nbytes == 0 and other.limit is None
    assert keep.shape == (10,)


@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_repeated_passes_equal_and_a_held_output_is_never_overwritten(backend):
    pytest.importorskip("backends.cython_omp._conv" if backend == "cython" else "numba",
                        reason=f"the {backend} backend is not available here")
    net = Network((1, 12, 13, 8), backend=backend, seed=3)
    net.add("c1", specs.Conv2D(filters=8, kernel=3, algo="winograd4", activation="relu"))
    net.add("c2", specs.Conv2D(filters=8, kernel=3, algo="winograd4"))
    net.add("c3", specs.Conv2D(filters=8, kernel=3))
    rng = np.random.default_rng(0)
    x1, x2 = (rng.standard_normal((1, 12, 13, 8)).astype(np.float32) for _ in range(2))
    y1 = net.predict(x1)
    kept = y1.copy()
    y2 = net.predict(x2)
    assert y1.tobytes() == kept.tobytes()  # the second pass did not write into y1
    assert _address(y2) != _address(y1)
    again = net.predict(x1)
    assert again.tobytes() == kept.tobytes()
    assert net.buffers.nbytes > 0  # blocks are kept between passes


def test_the_segments_of_a_split_network_share_its_pool():
    net = Network((1, 6, 7, 4), backend="numpy", seed=1)
    net.add("c1", specs.Conv2D(filters=4, kernel=3))
    net.add("c2", specs.Conv2D(filters=4, kernel=3))
    head, tail = net.split("c1")
    assert head.buffers is net.buffers and tail.buffers is net.buffers


def test_slack_bounds_the_block_a_request_may_take():
    pool = buffers.BufferPool()
    with pool.scope():
        big = buffers.empty((1000,), np.float32)  # 4,000 bytes
        at = _address(big)
        del big
        assert _address(pool.empty((700,), np.float32, slack=1.25)) != at  # 4,000 > 1.25 x 2,800
        assert _address(pool.empty((850,), np.float32, slack=1.25)) == at  # 3,400 <= 4,000 <= 4,250


def test_without_a_limit_of_its_own_the_pool_follows_the_budget_of_the_pass():
    pool = buffers.BufferPool()

    def passes(n):  # live arrays of 4,000 and 6,000 bytes, then all free
        with pool.scope():
            a = buffers.empty((1000,), np.float32)
            b = buffers.empty((1500,), np.float32)
            del a, b
        return pool.nbytes

    with pool.budget(None):  # no bound: the whole pass is kept for the next one
        assert passes(1) == 10_000
        assert passes(2) == 10_000
    assert pool.nbytes == 10_000  # kept after the budget ends, until a pass under a limit
    with pool.budget(7_000):
        assert passes(3) == 4_000  # 10,000 > 7,000: the larger free block went
    pool.limit = 5_000  # a limit of its own wins over any budget
    with pool.budget(None):
        assert passes(4) == 4_000
    assert pool._limit() == 5_000
    pool.limit = None
    assert pool._limit() == buffers.LIMIT  # outside a budget
