"""A directed acyclic graph of layers with named nodes and skip connections.

Nodes are added in topological order; each names its inputs (``"input"`` is the network
input). ``forward`` runs the nodes in order, ``backward`` runs them in reverse and adds the
gradients of nodes with several consumers. Parameters are addressed as ``"node/param"``.

``Network`` is the one graph executor: inference at bounded memory runs through it too
(``predict(x, band_bytes=...)``: intermediates freed after their last use, convolutions in
row bands, :mod:`backends.bands`), and :meth:`Network.split` cuts it into two networks that
share its layers, so a planner (``layerbench.models.inference``) can run a head whole and
the rest in tiles.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import specs as _specs
from .bands import forward_in_bands
from .buffers import BufferPool
from .errors import NonFiniteError, ShapeError, StateError, WeightsError, expected
from .layers.base import check_array
from .registry import build, check_dtype, get_backend

INPUT = "input"


@dataclass
class Node:
    """One node of a :class:`Network`.

    Parameters
    ----------
    name : str
        The node's name (parameters are addressed as ``"name/param"``).
    layer : Layer or MergeLayer
        The layer it runs.
    inputs : tuple of str
        The names of the values it reads (``"input"`` or earlier nodes).
    """

    name: str
    layer: object
    inputs: tuple[str, ...]


class Network:
    """A DAG of layers on one backend and dtype.

    Parameters
    ----------
    input_shape : tuple
        Nominal NHWC input shape (batch and spatial size may differ at run time).
    backend : str, default "numpy"
        The backend every layer runs on.
    dtype : float32 or float64
        Dtype of the inputs and parameters.
    seed : int
        Base seed for the deterministic default initialisation (node i uses ``seed + i``).

    Examples
    --------
    >>> import numpy as np
    >>> from backends import specs
    >>> net = Network((1, 8, 8, 3))
    >>> net.add("conv", specs.Conv2D(filters=12, kernel=3))
    'conv'
    >>> net.add("shuffle", specs.PixelShuffle(scale=2))
    'shuffle'
    >>> net.forward(np.zeros((1, 8, 8, 3), np.float32)).shape
    (1, 16, 16, 3)
    """

    def __init__(self, input_shape, *, backend="numpy", dtype=np.float32, seed: int = 0):
        self.input_shape = _specs.check_input_shape("Network", input_shape)
        self.backend = get_backend(backend)
        self.dtype = check_dtype(dtype)
        self.seed = seed
        self.nodes: dict[str, Node] = {}
        self._shapes: dict[str, tuple[int, int, int, int]] = {INPUT: self.input_shape}
        self.output: str = INPUT

    # -- building ---------------------------------------------------------------------------
    def add(self, name: str, spec: _specs.LayerSpec, inputs: Sequence[str] | None = None) -> str:
        """Append a node; ``inputs`` defaults to the previous node.

        Parameters
        ----------
        name : str
            A new node name without ``/``.
        spec : backends.specs.LayerSpec
            The node's layer.
        inputs : sequence of str, optional
            The values it reads (``"input"`` or earlier nodes); as many as the spec's
            ``n_inputs``, shaped as its ``input_shapes`` says.

        Returns
        -------
        str
            ``name``.

        Raises
        ------
        ValueError
            The name is taken or holds ``/``, an input is unknown, or the input count is
            wrong.
        ShapeError
            A second input's shape does not fit.
        """
        if not isinstance(name, str) or not name or "/" in name or name in self._shapes:
            raise ValueError(expected("name", "a new node name without '/'", name))
        inputs = (self.output,) if inputs is None else tuple(inputs)
        for i in inputs:
            if i not in self._shapes:
                raise ValueError(expected(f"{name}.inputs", f"names among {list(self._shapes)}", i))
        if len(inputs) != spec.n_inputs:
            raise ValueError(expected(f"{name}.inputs", f"{spec.n_inputs} input(s)", inputs))
        shape = self._shapes[inputs[0]]
        for i, want in zip(inputs[1:], spec.input_shapes(shape)[1:], strict=True):
            if self._shapes[i] != want:
                raise ShapeError(
                    expected(f"{name} input {i!r} shape", f"{want} (from {inputs[0]!r})",
                             self._shapes[i])
                )
        layer = build(spec, input_shape=shape, backend=self.backend, dtype=self.dtype,
                      seed=self.seed + len(self.nodes))
        self.nodes[name] = Node(name, layer, inputs)
        self._shapes[name] = layer.output_shape
        self.output = name
        return name

    @property
    def output_shape(self):
        return self._shapes[self.output]

    # -- running ---------------------------------------------------------------------------
    def forward(self, x: np.ndarray, *, training: bool = False, keep: bool = True,
                band_bytes: int | None = None) -> np.ndarray:
        """Run every node. ``keep=False`` frees each layer's backward cache and each
        intermediate as soon as its last consumer ran (inference at bounded memory).

        Parameters
        ----------
        x : numpy.ndarray
            NHWC input in the network's dtype.
        training : bool, default False
            Training mode (batch statistics; what ``backward`` needs is kept).
        keep : bool, default True
            Keep the layers' caches for ``backward``.
        band_bytes : int, optional
            Inference only, with ``keep=False``: every layer whose spec ``has_workspace``
            runs on row bands of its input whose workspace is at most that many bytes
            (:func:`backends.bands.forward_in_bands`; same result).

        Returns
        -------
        numpy.ndarray
            The output node's value.

        Raises
        ------
        ShapeError, DTypeError, LayoutError
            ``x`` does not fit the network.
        ValueError
            ``band_bytes`` given with ``keep=True`` or ``training=True``.
        """
        check_array("Network", "x", x, self.dtype, channels=self.input_shape[3])
        if band_bytes is not None and (keep or training):
            raise ValueError(expected("band_bytes", "None unless keep=False and training=False "
                                      "(a banded layer keeps no whole-input cache)", band_bytes))
        last_use = {}
        for node in self.nodes.values():
            for i in node.inputs:
                last_use[i] = node.name
        values = {INPUT: x}
        with self.buffers.scope():
            for node in self.nodes.values():
                args = [values[i] for i in node.inputs]
                if band_bytes is not None and node.layer.spec.has_workspace:
                    values[node.name] = forward_in_bands(node.layer, args[0], band_bytes,
                                                         *args[1:])
                else:
                    values[node.name] = node.layer.forward(*args, training=training)
                del args
                if not keep:
                    node.layer.clear()
                    for i in node.inputs:
                        if last_use[i] == node.name and i != self.output:
                            values.pop(i, None)
        self._ran = keep
        return values[self.output]

    @property
    def buffers(self) -> BufferPool:
        """The pool the layers' outputs come from (:mod:`backends.buffers`): memory of outputs
        no array refers to any more is reused by the next layers and the next passes."""
        pool = self.__dict__.get("_buffers")
        if pool is None:
            pool = self.__dict__["_buffers"] = BufferPool()
        return pool

    def predict(self, x: np.ndarray, *, band_bytes: int | None = None) -> np.ndarray:
        """Inference: ``forward(x, training=False, keep=False, band_bytes=band_bytes)``.

        Parameters
        ----------
        x : numpy.ndarray
            NHWC input in the network's dtype.
        band_bytes : int, optional
            Largest convolution workspace of one row band (None: whole inputs).

        Returns
        -------
        numpy.ndarray
            The output.
        """
        return self.forward(x, training=False, keep=False, band_bytes=band_bytes)

    # -- segments ---------------------------------------------------------------------------
    def crossing(self, name: str) -> set[str]:
        """Values (``"input"`` or node names) produced up to and including node ``name``
        that nodes after it read.

        Parameters
        ----------
        name : str
            A node of the network.

        Returns
        -------
        set of str
            The values crossing the cut after ``name``.

        Raises
        ------
        ValueError
            ``name`` is not a node.
        """
        names = list(self.nodes)
        if name not in self.nodes:
            raise ValueError(expected("node", f"one of {names}", name))
        k = names.index(name) + 1
        produced = {INPUT, *names[:k]}
        return {i for n in names[k:] for i in self.nodes[n].inputs if i in produced}

    def split(self, cut: str) -> tuple[Network, Network]:
        """The nodes up to and including ``cut`` and the nodes after it, as two networks
        sharing this network's layers; the second reads ``cut``'s output as its input.

        Parameters
        ----------
        cut : str
            The last node of the head.

        Returns
        -------
        head, tail : Network
            The two segments; ``tail.predict(head.predict(x))`` equals ``predict(x)``.

        Raises
        ------
        ValueError
            ``cut``'s output is not the only value the later nodes read from the earlier
            ones (:meth:`crossing`), or no node follows it.
        """
        crossing = self.crossing(cut)
        if crossing != {cut}:
            raise ValueError(expected("cut", "a node whose output is the only value read "
                                      "after it", f"{cut!r} (read after it: "
                                      f"{sorted(crossing)})"))
        names = list(self.nodes)
        k = names.index(cut) + 1
        head = self._segment({n: self.nodes[n] for n in names[:k]}, self.input_shape, cut)
        tail = {n: Node(n, self.nodes[n].layer,
                        tuple(INPUT if i == cut else i for i in self.nodes[n].inputs))
                for n in names[k:]}
        return head, self._segment(tail, self._shapes[cut], self.output)

    def _segment(self, nodes: dict[str, Node], input_shape, output: str) -> Network:
        net = object.__new__(Network)
        net.input_shape, net.backend, net.dtype = tuple(input_shape), self.backend, self.dtype
        net.seed, net.nodes, net.output = self.seed, nodes, output
        net._shapes = {INPUT: net.input_shape, **{n: self._shapes[n] for n in nodes}}
        net._buffers = self.buffers  # its layers are ours: one pool, kept across calls
        return net

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Back-propagate ``dy`` (gradient at the output); return dL/dx of the input.

        Gradients of values read by several nodes are summed.

        Parameters
        ----------
        dy : numpy.ndarray
            ``dL/dy`` at the output, shaped like the last ``forward``'s output.

        Returns
        -------
        numpy.ndarray
            ``dL/dx``, shaped like the input.

        Raises
        ------
        StateError
            No ``forward(..., keep=True)`` preceded it, or the output does not depend on
            the input.
        """
        if not getattr(self, "_ran", False):
            raise StateError("Network.backward(): call forward(..., keep=True) first")
        pending = {self.output: dy}
        for node in reversed(list(self.nodes.values())):
            g = pending.pop(node.name, None)
            if g is None:  # not an ancestor of the output
                continue
            dxs = node.layer.backward(g)
            dxs = dxs if isinstance(dxs, tuple) else (dxs,)
            for i, d in zip(node.inputs, dxs, strict=True):
                pending[i] = pending[i] + d if i in pending else d
        if INPUT not in pending:
            raise StateError("Network.backward(): the output does not depend on the input")
        return pending[INPUT]

    def update(self, optimizer) -> None:
        """Apply ``optimizer`` to every node's parameters.

        Parameters
        ----------
        optimizer : backends.protocol.Optimizer
            The optimizer (its slots persist across calls).
        """
        for node in self.nodes.values():
            node.layer.update(optimizer)

    # -- parameters -------------------------------------------------------------------------
    def _collect(self, method: str) -> dict[str, np.ndarray]:
        out = {}
        for node in self.nodes.values():
            for k, v in getattr(node.layer, method)().items():
                out[f"{node.name}/{k}"] = v
        return out

    def params(self) -> dict[str, np.ndarray]:
        """Trainable parameters as ``{"node/param": array}``.

        Returns
        -------
        dict of str to numpy.ndarray
            The layers' live arrays.
        """
        return self._collect("params")

    def grads(self) -> dict[str, np.ndarray]:
        """Gradients of the last backward, same keys as ``params``.

        Returns
        -------
        dict of str to numpy.ndarray
            ``dL/dparam`` summed over the batch.
        """
        return {
            f"{n.name}/{k}": v for n in self.nodes.values() if n.layer.params()
            for k, v in n.layer.grads().items()
        }

    def state(self) -> dict[str, np.ndarray]:
        """Non-trainable buffers (batch-norm running statistics) as ``{"node/name": array}``.

        Returns
        -------
        dict of str to numpy.ndarray
            Empty when no layer keeps state.
        """
        return self._collect("state")

    def num_params(self) -> int:
        """Total number of parameter elements.

        Returns
        -------
        int
            Sum of the sizes of all parameter arrays.
        """
        return int(sum(v.size for v in self.params().values()))

    def load_params(self, p: Mapping[str, np.ndarray], *, strict: bool = True) -> None:
        """Load ``{"node/param": array}`` (parameters and state). With ``strict``, every
        parameter must be given and no unknown key may appear.

        All or nothing: every node's values are checked (keys, shapes, finiteness) before
        any node is assigned, so a rejected load leaves the network unchanged.

        Parameters
        ----------
        p : Mapping of str to numpy.ndarray
            Values keyed ``"node/param"`` (parameters and state).
        strict : bool, default True
            Require every parameter and no unknown key; otherwise unknown keys are
            ignored and nodes without values keep theirs.

        Raises
        ------
        WeightsError, NonFiniteError
            A key, shape or value is rejected (the message names the node).
        """
        by_node: dict[str, dict[str, np.ndarray]] = {}
        for key, value in p.items():
            node, _, param = key.partition("/")
            if node not in self.nodes:
                if strict:
                    raise WeightsError(expected("parameter key", "a 'node/param' of this network",
                                                key))
                continue
            by_node.setdefault(node, {})[param] = value
        checked = []
        for node in self.nodes.values():
            given = by_node.get(node.name, {})
            if node.layer.params() and not given and not strict:
                continue
            if given or node.layer.params():
                try:
                    checked.append((node.layer, node.layer.check_params(given)))
                except (WeightsError, NonFiniteError) as err:  # say which node's parameters
                    raise type(err)(f"Network node {node.name!r}: {err}") from err
        for layer, values in checked:
            layer.assign_params(values)

    def save(self, path: str | os.PathLike) -> None:
        """Write parameters and state to ``.npz`` atomically (temp file, then rename).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write.
        """
        path = os.fspath(path)
        tmp = path + ".tmp.npz"
        np.savez(tmp, **self.params(), **self.state())
        os.replace(tmp, path)

    def load(self, path: str | os.PathLike) -> None:
        """Load parameters and state written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
            The ``.npz`` file.
        """
        with np.load(path) as f:
            self.load_params({k: f[k] for k in f.files})

    def summary(self) -> str:
        """One line per node: name, layer, inputs, output shape, parameter count.

        Returns
        -------
        str
            The table, then the total number of parameters.
        """
        rows = [f"{'node':24} {'layer':14} {'inputs':30} {'output':22} params"]
        for n in self.nodes.values():
            rows.append(
                f"{n.name:24} {type(n.layer.spec).__name__:14} {','.join(n.inputs):30} "
                f"{str(n.layer.output_shape):22} {n.layer.num_params()}"
            )
        rows.append(f"total parameters: {self.num_params():,}")
        return "\n".join(rows)
