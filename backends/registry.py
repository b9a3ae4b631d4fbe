"""Backend registry: the backend table, names -> backends imported lazily; ``build`` makes
a layer.

:data:`BACKEND_TABLE` has one line per backend; everything that lists backends (the schema's
choices, the asv parameters, the report's columns and figure colours, the pytest markers and
parameters, ``layerbench peer-compare``'s defaults) reads it, so adding a backend is its
package plus one line here. A backend package exposes ``BACKEND``, a
:class:`~backends.backend.KernelBackend`. Importing ``backends`` imports no backend:
TensorFlow, Numba and the compiled extension load on first use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import specs as _specs
from .backend import KernelBackend  # re-exported: backend packages used to import it here
from .errors import BackendUnavailableError, DTypeError, expected


@dataclass(frozen=True)
class BackendEntry:
    """One row of :data:`BACKEND_TABLE`: everything outside a backend's package that names it.

    Parameters
    ----------
    name : str
        Registry name: the schema's choice, the asv parameter, the results' ``backend`` column.
    package : str
        Dotted package exposing ``BACKEND`` (a :class:`KernelBackend`).
    extra : str or None
        The ``pyproject.toml`` extra that installs its dependencies (None: the base install
        has them; ``tests/backends/test_backend_table.py`` checks that the extras exist).
    label, colour : str
        Legend label and matplotlib colour in the benchmark figures.
    marker : str or None
        pytest marker of the tests that run it (None: it always imports, no marker).
    role : {"reference", "kernels", "oracle"}
        ``reference``: numpy_ref, whose signatures every backend keeps and whose float64 run
        is the desired side of every comparison; ``oracle``: TensorFlow, the second oracle,
        not timed as a peer by ``layerbench peer-compare``; ``kernels``: every other backend.
    """

    name: str
    package: str
    extra: str | None
    label: str
    colour: str
    marker: str | None
    role: str = "kernels"


# One line per backend. The order is that of every listing (schema choices, asv parameters,
# report columns, figure legends, test parameters): a new backend goes last, so that the
# existing tables keep their bytes.
BACKEND_TABLE: tuple[BackendEntry, ...] = (
    BackendEntry("numpy", "backends.numpy_ref", None, "numpy", "tab:blue", None, "reference"),
    BackendEntry("cython", "backends.cython_omp", None, "cython", "tab:orange", "cython"),
    BackendEntry("numba", "backends.numba_jit", "numba", "numba", "tab:green", "numba"),
    BackendEntry("tensorflow", "backends.tf_oracle", "tf", "tensorflow", "tab:red", "tf",
                 "oracle"),
    BackendEntry("jax", "backends.jax_xla", "jax", "jax", "tab:pink", "jax"),
)


@dataclass(frozen=True)
class PeerEntry:
    """A timing peer that is not a backend (no kernels, not in the registry).

    Parameters
    ----------
    name : str
        Its name in the benchmark tables.
    label, colour : str
        Legend label and matplotlib colour in the figures.
    """

    name: str
    label: str
    colour: str


# Listed after the backends: ``tf_graph`` (the layers' peer, graph-mode TensorFlow ops,
# bench/graph_peer.py) and the models' peers: ``keras`` (layerbench/models/keras_peer.py),
# ``onnxruntime``, ``openvino`` and ``torch`` (layerbench/runtimes.py).
PEER_TABLE: tuple[PeerEntry, ...] = (
    PeerEntry("tf_graph", "tf_graph", "tab:brown"),
    PeerEntry("keras", "keras", "tab:purple"),
    PeerEntry("onnxruntime", "ONNX Runtime", "gold"),
    PeerEntry("openvino", "OpenVINO", "tab:olive"),
    PeerEntry("torch", "PyTorch", "tab:cyan"),
)

BACKEND_PACKAGES: dict[str, str] = {row.name: row.package for row in BACKEND_TABLE}
BACKEND_NAMES: tuple[str, ...] = tuple(BACKEND_PACKAGES)
REFERENCE: str = next(row.name for row in BACKEND_TABLE if row.role == "reference")
ORACLE: str = next(row.name for row in BACKEND_TABLE if row.role == "oracle")
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def display_order() -> tuple[str, ...]:
    """Backends, then peers, in table order (the benchmark report's columns).

    Returns
    -------
    tuple of str
        The names of ``BACKEND_TABLE``, then those of ``PEER_TABLE``.

    Examples
    --------
    >>> display_order()[:2]
    ('numpy', 'cython')
    """
    return (*BACKEND_NAMES, *(p.name for p in PEER_TABLE))


def colours() -> dict[str, str]:
    """Figure colour of every backend and peer, in :func:`display_order`.

    Returns
    -------
    dict of str to str
        Name to matplotlib colour.

    Examples
    --------
    >>> colours()["numpy"]
    'tab:blue'
    """
    return {row.name: row.colour for row in (*BACKEND_TABLE, *PEER_TABLE)}


def labels() -> dict[str, str]:
    """Figure legend label of every backend and peer, in :func:`display_order`.

    Returns
    -------
    dict of str to str
        Name to legend label.
    """
    return {row.name: row.label for row in (*BACKEND_TABLE, *PEER_TABLE)}


def get_backend(name: str) -> KernelBackend:
    """Import and return a backend by name.

    Parameters
    ----------
    name : str or KernelBackend
        A registry name (``BACKEND_NAMES``); a backend object is returned as it is.

    Returns
    -------
    KernelBackend
        The backend package's ``BACKEND``.

    Raises
    ------
    ValueError
        ``name`` is not a registry name.
    BackendUnavailableError
        The backend's package or one of its dependencies cannot be imported here.

    Examples
    --------
    >>> get_backend("numpy")
    KernelBackend('numpy')
    """
    if isinstance(name, KernelBackend):
        return name
    if name not in BACKEND_PACKAGES:
        raise ValueError(expected("backend", f"one of {tuple(BACKEND_PACKAGES)}", name))
    try:
        module = importlib.import_module(BACKEND_PACKAGES[name])
    except ImportError as err:  # missing package or extension: say which and why
        raise BackendUnavailableError(f"backend {name!r} cannot be imported: {err}") from err
    return module.BACKEND


def available_backends() -> tuple[str, ...]:
    """Names of the backends that import on this machine, in registry order.

    Returns
    -------
    tuple of str
        A subset of ``BACKEND_NAMES``; the reference ``"numpy"`` is always there.

    Examples
    --------
    >>> "numpy" in available_backends()
    True
    """
    names = []
    for name in BACKEND_PACKAGES:
        try:
            get_backend(name)
        except BackendUnavailableError:
            continue
        names.append(name)
    return tuple(names)


def check_dtype(dtype: Any) -> np.dtype:
    """Validate a dtype argument.

    Parameters
    ----------
    dtype : Any
        Anything ``numpy.dtype`` accepts.

    Returns
    -------
    numpy.dtype
        ``float32`` or ``float64``.

    Raises
    ------
    DTypeError
        For any other dtype, or ``None``.

    Examples
    --------
    >>> check_dtype("float32")
    dtype('float32')
    >>> check_dtype("int8")
    Traceback (most recent call last):
    ...
    backends.errors.DTypeError: dtype: expected float32 or float64, received 'int8'
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    # ``None in DTYPES`` is True (np.dtype(None) is float64): test for None explicitly
    if dtype is None or dt is None or dt not in DTYPES:
        raise DTypeError(expected("dtype", "float32 or float64", dtype))
    return dt


def build(
    spec: _specs.LayerSpec,
    *,
    input_shape: tuple[int, int, int, int],
    backend: str | KernelBackend = "numpy",
    dtype: Any = np.float32,
    seed: int = 0,
):
    """Build one layer of ``spec`` for ``input_shape`` on ``backend``.

    Parameters are initialised deterministically from ``seed`` (He-uniform kernels, zero
    biases, unit ``gamma``); use ``load_params`` to set them.

    Parameters
    ----------
    spec : backends.specs.LayerSpec
        The layer's spec.
    input_shape : tuple of int
        Nominal NHWC input shape (batch and spatial size may differ at run time; the
        channel count may not).
    backend : str or KernelBackend, default "numpy"
        The backend whose kernels the layer calls.
    dtype : float32 or float64, default float32
        Dtype of the inputs and parameters.
    seed : int, default 0
        Seed of the parameter initialisation.

    Returns
    -------
    Layer or MergeLayer
        A layer keeping the ``backends.protocol`` contract (two inputs for ``Shortcut``
        and ``Conv2DAdd``).

    Raises
    ------
    TypeError
        ``spec`` is not a layer spec.
    ShapeError, DTypeError
        ``input_shape`` is not 4 positive ints, or ``dtype`` is not float32/float64.
    NotSupportedError
        The backend lacks a kernel the layer needs.

    Examples
    --------
    >>> import numpy as np
    >>> from backends import specs
    >>> layer = build(specs.Upsample(scale=2), input_shape=(1, 2, 2, 1), dtype=np.float64)
    >>> layer.forward(np.arange(4.0).reshape(1, 2, 2, 1))[0, :, :, 0]
    array([[0., 0., 1., 1.],
           [0., 0., 1., 1.],
           [2., 2., 3., 3.],
           [2., 2., 3., 3.]])
    """
    from .layers import layer_class

    if not isinstance(spec, _specs.LayerSpec):
        raise TypeError(expected("spec", "a backends.specs layer spec", spec))
    shape = _specs.check_input_shape(type(spec).__name__, input_shape)
    return layer_class(spec)(spec, shape, check_dtype(dtype), get_backend(backend), seed=seed)
