"""BLAS thread control through threadpoolctl (used by every backend's ``threads``)."""

from __future__ import annotations

from threadpoolctl import ThreadpoolController

_CONTROLLER = ThreadpoolController()


def set_blas_threads(n: int) -> None:
    _CONTROLLER.limit(limits=n, user_api="blas")


def get_blas_threads() -> int:
    counts = [lib.num_threads for lib in _CONTROLLER.select(user_api="blas").lib_controllers]
    return max(counts) if counts else 1


def blas_info() -> list[dict]:
    return [
        {k: info.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
        for info in _CONTROLLER.select(user_api="blas").info()
    ]
