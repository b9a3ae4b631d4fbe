"""asv benchmarks (asv 0.6.6 requires this file in benchmark_dir).

Modules: ``layers`` (every layer, thesis shapes, conv presets x algorithm; peer ``tf_graph``,
the layer's ``tf.nn`` ops in graph mode, ``graph_peer``), ``models`` (EDSR x2, EDSR-baseline
x2, WDSR-A x4 ``super_resolve``; peer ``keras``), ``memory`` (peak RSS), ``tracks`` (sgemm
peak, conv GFLOP/s, error vs numpy_ref, Numba compile time); shared helpers in ``_common``.
Every benchmark takes the backend and (where it matters) the thread count as parameters;
combinations that cannot run raise ``NotImplementedError`` in ``setup`` (asv's skip) with a
reason ``"unsupported: ..."``, ``"unavailable: ..."``, ``"threads: ..."`` or ``"budget: ..."``.

- full run, dashboard and report: ``nox -s bench`` then ``python -m layerbench.report.bench``;
- fast pass: ``nox -s bench -- --quick``; CI-sized shapes: ``LAYERBENCH_BENCH_TINY=1``;
- serve the dashboard: ``nox -s dashboard``; check it renders: ``nox -s browser``;
- smoke test (every benchmark once, tiny shapes, in-process): ``pytest tests/bench``.
"""
