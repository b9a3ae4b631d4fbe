"""Sphinx configuration of the layerbench documentation (``nox -s docs``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
if os.environ.get("LAYERBENCH_DOCS_FROM_CHECKOUT") == "1":
    sys.path.insert(0, str(ROOT))  # a checkout with the extension built in place

import layerbench  # noqa: E402

project = "layerbench"
author = "The layerbench developers"
copyright = "2026, The layerbench developers"  # noqa: A001 - Sphinx's name
version = release = layerbench.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinx_design",
    "sphinx_gallery.gen_gallery",
    "results_tables",
    "short_refs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "gallery/README.txt", "**/.ipynb_checkpoints"]
templates_path = ["_templates"]

# -n: every cross-reference must resolve, except module constants (documented in their
# module's docstring, not as objects of their own), private names and other projects' classes.
nitpick_ignore_regex = [
    (r"py:(data|const)", r".*"),
    (r"py:.*", r"(.*\.)?_.*"),
    (r"py:class", r"'.*"),  # a string annotation autodoc could not evaluate
    # other projects' names (no intersphinx: the build is offline); ours stay checked
    (r"py:.*", r"(numpy|np|scipy|pandas|pd|pyarrow|matplotlib|skimage|cv2|nibabel|nrrd|h5py|"
               r"tensorflow|tf|keras|jax|numba|hydra|omegaconf|submitit|joblib|threadpoolctl|"
               r"argparse|collections|typing|os|pathlib|subprocess|concurrent|json|io|re|abc|"
               r"enum|dataclasses|contextlib|functools|logging|threading|multiprocessing|"
               r"zipfile|datetime|types)\.[\w.]+"),
    (r"py:.*", r"(int|float|str|bool|bytes|dict|list|tuple|set|frozenset|object|type|None|"
               r"callable|iterable|sequence|mapping|path-like|array-like|ndarray|optional)"),
]

myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options: dict[str, bool] = {}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

intersphinx_mapping: dict[str, tuple[str, None]] = {}  # offline: no inventories

sphinx_gallery_conf = {
    "examples_dirs": "gallery",
    "gallery_dirs": "auto_gallery",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "abort_on_example_error": True,
}

html_theme = "pydata_sphinx_theme"
html_title = f"layerbench {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list[str] = []
html_show_sourcelink = False
