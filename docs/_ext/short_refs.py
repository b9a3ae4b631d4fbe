"""Resolve a short Python cross-reference by its unique dotted suffix.

Docstrings name objects the way their module sees them (``:class:`NotSupportedError```,
``:meth:`SRModel.super_resolve```) or by the package that re-exports them
(``backends.Network``, documented as ``backends.network.Network``). Sphinx looks such a name
up only in the current module and at the top level; this extension, on a reference Sphinx
could not resolve, looks for the one documented object whose full name ends with
``.<name>`` (for a re-exported name: starts with the package and ends with the object's own
name) and links to it. A name that matches no object, or several, stays unresolved (a
warning under ``-n``).
"""

from __future__ import annotations

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.util.nodes import make_refnode


def resolve_suffix(app, env, node: pending_xref, contnode: nodes.Element):
    """``missing-reference`` handler: link a unique suffix match in the Python domain.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application.
    env : sphinx.environment.BuildEnvironment
        The build environment.
    node : sphinx.addnodes.pending_xref
        The unresolved reference.
    contnode : docutils.nodes.Element
        The node holding the reference's text.

    Returns
    -------
    docutils.nodes.reference or None
        The link, or None to leave the reference unresolved.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    domain = env.get_domain("py")
    objects = {name: obj for name, obj in domain.objects.items() if not obj.aliased}
    matches = [(name, obj) for name, obj in objects.items() if name.endswith("." + target)]
    parts = target.split(".")
    for cut in range(1, len(parts)):  # backends.Network -> backends.*.Network
        if matches:
            break
        package, rest = ".".join(parts[:cut]) + ".", "." + ".".join(parts[cut:])
        matches = [(name, obj) for name, obj in objects.items()
                   if name.startswith(package) and name.endswith(rest)]
    if len(matches) != 1:
        return None
    name, obj = matches[0]
    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, name)


def setup(app):
    """Register the handler.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.

    Returns
    -------
    dict
        Extension metadata (parallel-safe).
    """
    app.connect("missing-reference", resolve_suffix)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
