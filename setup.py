"""Build the Cython + OpenMP kernels; everything else is in pyproject.toml.

Every ``backends/cython_omp/*.pyx`` becomes the extension ``backends.cython_omp.<name>``.
Set ``LAYERBENCH_MARCH_NATIVE=1`` to add ``-march=native`` (off by default: a wheel built with
it only runs on CPUs like the build machine's).
"""

import os
import sysconfig
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

compile_args = ["-O3", "-fopenmp", "-ffp-contract=off"]
if os.environ.get("LAYERBENCH_MARCH_NATIVE") == "1":
    compile_args.append("-march=native")

# What the compiled kernels were built with, for the provenance of every result
# (layerbench.provenance.extension_build); git-ignored, rewritten by every build.
Path("backends/cython_omp/_buildinfo.py").write_text(
    '"""Written by setup.py: how the compiled kernels were built."""\n\n'
    "BUILD = {!r}\n".format({"compile_args": compile_args,
                             "compiler": sysconfig.get_config_var("CC"),
                             "numpy": np.__version__}))

extensions = [
    Extension(
        f"backends.cython_omp.{pyx.stem}",
        [pyx.as_posix()],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
        extra_link_args=["-fopenmp"],
    )
    for pyx in sorted(Path("backends/cython_omp").glob("*.pyx"))
]

# conf/ ships as the package data of layerbench.conf (package-dir mapping in pyproject.toml).
conf = Path("conf")
conf_dirs = [conf, *(d for d in conf.rglob("*") if d.is_dir() and d.name != "__pycache__")]
conf_packages = sorted("layerbench." + d.as_posix().replace("/", ".") for d in conf_dirs)

setup(
    packages=find_packages(include=["backends", "backends.*", "layerbench", "layerbench.*"])
    + (conf_packages if conf.is_dir() else []),
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    ),
)
