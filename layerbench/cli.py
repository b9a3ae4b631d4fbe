"""``layerbench [--debug] <command> [arguments]``: every entry point of the project.

The command table :data:`COMMANDS` (one line per command) names, for each command, either a
module whose ``main()`` parses the rest of the command line itself (a ``@hydra.main`` entry
point with its own top-level config in ``conf/``: overrides, ``--help``, ``-m``), or a
function of this file that declares the command's arguments on an ``argparse`` parser and
returns what runs with them. Either way ``layerbench <command> --help`` describes the
command. Modules are imported lazily, when their command runs.

Every command's ``--help`` has one layout (``tests/layerbench/test_cli.py`` walks them): a
usage line ``usage: layerbench <command> ...``, what the command does with its inputs and
outputs, its options with their defaults, and an ``example:`` section. A command declared
here gets it from :func:`parser` (add its text to :data:`DESCRIPTIONS` and its example lines
to :data:`EXAMPLES`); a module parsing its own arguments builds its parser with
:func:`parser` too; a Hydra command names a help page ``conf/hydra/help/<command>.yaml`` in
its top-level config (``- override hydra/help: <command>``). Options with several values take
them space-separated (``nargs="+"``; :func:`list_option` still splits the older comma form).

Errors of the user's making (a config key or value, a data or weights file: every
``LayerbenchError``, ``FileNotFoundError``, Hydra's and OmegaConf's config errors) print one
line, ``layerbench <command>: error: <message>``, and exit with status 2 (as ``argparse``
does for a bad argument). ``--debug`` (or ``LAYERBENCH_DEBUG=1``) shows the full traceback
instead. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from layerbench.confdir import ASV, RESULTS, RUNS

Run = Callable[[argparse.Namespace], None]


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every command's help layout: the description and example as written, each option's
    default shown (``(default: ...)``) unless it is ``None``/``False`` or already said.

    Parameters
    ----------
    prog, indent_increment, max_help_position, width
        As for ``argparse.HelpFormatter``.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) \
                or action.required:
            return text
        if isinstance(action.default, list | tuple):  # as typed: --backends a b
            return f"{text} (default: {' '.join(map(str, action.default))})"
        return super()._get_help_string(action)


def parser(name: str, description: str, example: str | None = None,
           **kwargs) -> argparse.ArgumentParser:
    """The ``argparse`` parser of command ``name`` in the project's help style.

    Parameters
    ----------
    name : str
        The command (``prog`` is ``layerbench <name>``).
    description : str
        What the command does, its inputs and outputs.
    example : str, optional
        Example command lines (default: :data:`EXAMPLES` [name]), shown under "example:".
    **kwargs
        Passed to ``argparse.ArgumentParser``.

    Returns
    -------
    argparse.ArgumentParser
    """
    example = example if example is not None else EXAMPLES.get(name)
    epilog = "example:\n" + "\n".join(f"  {line}" for line in example.strip().splitlines()) \
        if example else None
    return argparse.ArgumentParser(prog=f"layerbench {name}", description=description,
                                   epilog=epilog, formatter_class=Formatter, **kwargs)


def list_option(values: list[str], option: str) -> list[str]:
    """A multi-valued option's values (``--backends a b``); the older comma form
    (``--backends a,b``) is split, with a one-line deprecation notice on stderr.

    Parameters
    ----------
    values : list of str
        What ``nargs="+"`` collected.
    option : str
        The option's name, for the notice.

    Returns
    -------
    list of str
    """
    if any("," in v for v in values):
        print(f"layerbench: {option} a,b is deprecated; write {option} a b", file=sys.stderr)
        return [x for v in values for x in v.split(",") if x]
    return list(values)


def _bench_report(p: argparse.ArgumentParser) -> Run:
    p.add_argument("--results", type=Path, default=Path(ASV), help="asv's results directory")
    p.add_argument("--out", type=Path, default=Path(RESULTS),
                   help="writes <out>/tables/bench_summary.{md,csv} and <out>/figures/bench_*")
    p.add_argument("--machine", default=None, help="asv machine name (default: any)")
    p.add_argument("--commit", default=None,
                   help="one run's commit hash prefix (default: every benchmark from the newest "
                        "run that measured it)")

    def run(a: argparse.Namespace) -> None:
        from layerbench.report.bench import build

        for path in build(a.results, a.out, a.machine, a.commit).values():
            print(path)
    return run


def _verify(p: argparse.ArgumentParser) -> Run:
    p.add_argument("root", nargs="?", type=Path, default=Path(RUNS),
                   help=f"a results tree of `layerbench reproduce` (default: {RUNS})")
    p.add_argument("--report", type=Path, default=None,
                   help="a report's output root, checked against its report_manifest.json "
                        "(default: the parent of root when it has one)")

    def run(a: argparse.Namespace) -> None:
        from layerbench.experiments.verify import verify

        raise SystemExit(verify(a.root, a.report))
    return run


def _upscale(p: argparse.ArgumentParser) -> Run:
    from layerbench import upscale

    upscale.add_arguments(p)
    return upscale.run


def _compare(p: argparse.ArgumentParser) -> Run:
    from layerbench import compare

    compare.add_arguments(p)
    return compare.run


def _module(name: str) -> Callable[[argparse.ArgumentParser], Run]:
    """A command whose module ``layerbench.<name>`` declares its arguments
    (``add_arguments(p)``) and runs them (``run(args)``); imported only when the command is
    used."""
    def declare(p: argparse.ArgumentParser) -> Run:
        import importlib

        module = importlib.import_module(f"layerbench.{name}")
        module.add_arguments(p)
        return module.run
    return declare


def _models(p: argparse.ArgumentParser) -> Run:
    from layerbench import catalog

    catalog.add_arguments(p)
    return catalog.run


# name -> (target, one-line description). A target is a module whose ``main()`` parses the
# command line itself (a ``@hydra.main`` entry point), or a function above that declares the
# command's arguments on an argparse parser and returns what runs with them.
COMMANDS: dict[str, tuple[str | Callable[[argparse.ArgumentParser], Run], str]] = {
    "crosscheck": ("layerbench.crosscheck", "cross-check every backend against numpy_ref and TF"),
    "reproduce": ("layerbench.experiments.run", "run a thesis experiment (DIV2K, MRI)"),
    "report": ("layerbench.report.run", "turn run tables into results/tables and figures"),
    "train": ("layerbench.training.train", "train a model through the Layer protocol"),
    "bench-report": (_bench_report, "asv results -> bench_summary table and figures"),
    "verify": (_verify, "check every shard of a results tree [root]"),
    "peer-compare": ("layerbench.models.peer_compare", "backends vs the Keras peer, side by side"),
    "measure": ("layerbench.models.measure", "forward time / peak memory of a model [time|rss]"),
    "evaluate": ("layerbench.training.evaluate", "score shipped models against bicubic"),
    "train-report": ("layerbench.training.train_report", "validation curves of training runs"),
    "models": (_models, "list model presets and shipped weights: scale, data, scores"),
    "upscale": (_upscale, "super-resolve image files or NIfTI volumes with a shipped model"),
    "compare": (_compare, "two sets of result tables: equal within tolerance? bitwise?"),
    "export": (_module("onnx_export"), "write a model with its weights as an ONNX file"),
    "compare-backends": (_module("compare_backends"),
                         "one layer or model: backends and peers side by side"),
    "import-onnx": (_module("onnx_import"),
                    "run an ONNX model on every backend, checked against ORT"),
    "data": (_module("data.fetch"), "download DIV2K and published weights, checked by SHA-256"),
    "submit": (_module("experiments.slurm_array"), "one experiment's shards over a Slurm "
                                                   "array, then the report"),
    "plan": (_module("experiments.plan"), "an experiment's shards with estimated core-hours "
                                          "and memory"),
}

# The longer help text of commands declared here (what they read and write) and example
# command lines of every command whose parser is built by :func:`parser`.
DESCRIPTIONS: dict[str, str] = {
    "submit": "Spread the shards of one experiment over a Slurm array of --tasks workers "
              "sharing output.root\n(each claims shards through their locks), then build "
              "the report once in a job that\nstarts when every task has ended "
              "(afterany) and checks every shard first.",
    "plan": "Print the shards `layerbench reproduce <overrides>` would run, each with its LR "
            "input size,\nmodels, estimated core-hours and peak memory (from per-pixel costs "
            "measured by\ntools/fullsize_cost.py on the machine its provenance names) and "
            "whether it is finished.",
    "data": "Download the thesis' real data (DIV2K's official archives, unpacked into the "
            "layout\ndataset=div2k reads) and the published weights of its models, each "
            "checked against the\npackage's SHA-256 registry; resumes interrupted "
            "transfers, keeps nothing half-made.",
    "compare-backends": "Time one layer or model on our backends and on the peer runtimes "
                        "(Keras, ONNX Runtime,\nOpenVINO, PyTorch), each at its best in its "
                        "own fresh process, interleaved rounds,\nmedians; prints a table "
                        "with the ratio to the best peer and the roofline (GFLOP/s\nover the "
                        "measured sgemm peak), recording machine, threads and versions.\n"
                        "--state FILE keeps every process's result: a killed run continues. "
                        "--train-step times\none training step (forward, L1, backward, Adam) "
                        "against Keras and PyTorch.",
    "import-onnx": "Build a model from an ONNX graph (Conv, activations, Add, Mul by a "
                   "constant, DepthToSpace,\npools, BatchNormalization), run it on each "
                   "backend, check its output against ONNX\nRuntime within the model "
                   "tolerance and time it. Exit status 1 when a backend is over budget.",
    "export": "Write a shipped model (or an untrained preset) with its weights as an ONNX "
              "graph (opset 17):\nNHWC float input in [0, 255], normalisation included, "
              "output in [0, 255] unclipped.",
    "bench-report": "Summarise asv's benchmark results: one table of every benchmark's "
                    "median per backend\n(<out>/tables/bench_summary.md and .csv) and its "
                    "figures (<out>/figures/bench_*).",
    "verify": "Check every shard of a results tree: finished and whole, empty (zero rows), "
              "or\nunfinished/corrupt (named with the reason), and the report's tables and "
              "figures against\nits manifest. Exit status 0 when all are whole, 1 otherwise.",
    "models": "List every model preset and shipped weight file: architecture, scale, "
              "parameters,\ntraining data, the degradation it expects, held-out scores and "
              "the file's SHA-256.",
    "upscale": "Super-resolve image files (PNG, JPEG, TIFF) or NIfTI volumes with a shipped "
               "model.\nEach output keeps its input's format, dtype, value range and "
               "channels (grey, RGB,\nRGBA); volumes run slice by slice with the affine "
               "scaled. Prints each output path.",
    "compare": "Compare the result tables of two results roots (A against B, default B: "
               "the committed\nresults): rows joined on their keys, per table and column "
               "the max |A-B| against\nthe tolerances of backends/testing/tolerances.py; "
               "missing or extra rows are errors.\nFigures are compared through their "
               "tables. Exit status 0 when equal, 1 otherwise.",
}
EXAMPLES: dict[str, str] = {
    "submit": "layerbench submit experiment=div2k_thesis dataset.root=/data/DIV2K "
              "backend=cython backend.threads=4 --tasks 16 --partition cpu --mem-gb 8",
    "plan": "layerbench plan experiment=div2k_thesis dataset.root=/data/DIV2K backend=cython "
            "backend.threads=2",
    "data": "layerbench data fetch div2k --split valid --scales 2 4 --root /data/DIV2K --trust\n"
            "layerbench data fetch weights edsr_x2",
    "compare-backends": "layerbench compare-backends --layer conv --shape 1x128x128x64\n"
                        "layerbench compare-backends --model edsr_baseline_x2 --size 510x339 "
                        "--threads 1 2 --state rounds.jsonl\n"
                        "layerbench compare-backends --train-step --model edsr_baseline_x2 "
                        "--batch 16 --patch 48",
    "import-onnx": "layerbench import-onnx my_edsr.onnx --backends numpy cython --size 64x48",
    "export": "layerbench export edsr_small_x2 --onnx edsr_small_x2.onnx",
    "bench-report": "layerbench bench-report --machine mybox",
    "verify": "layerbench verify results/runs",
    "compare": "layerbench compare out/ results/\nlayerbench compare out/ --bitwise",
    "models": "layerbench models --json",
    "upscale": "layerbench upscale photo.png --model edsr_small_x2        # photo_x2.png\n"
               "layerbench upscale scan.nii.gz --model edsr_mri_x2 --out-dir sr/",
    "measure": "layerbench measure time edsr_small_x2 --backends numpy cython\n"
               "layerbench measure rss edsr_x2 --backend cython --threads 2",
    "evaluate": "layerbench evaluate edsr_small_x2 wdsr_a_small_x4 --backend cython",
    "peer-compare": "layerbench peer-compare --models edsr_small_x2 --backends cython "
                    "--threads 1 --repeats 1",
    "train-report": "layerbench train-report curves.png results/runs/train/edsr_small_x2\n"
                    "layerbench train-report --control edsr_mri_x2",
}

USER_ERROR_STATUS = 2


def _user_errors() -> tuple[type[BaseException], ...]:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from backends.errors import LayerbenchError

    return (LayerbenchError, FileNotFoundError, HydraException, OmegaConfBaseException)


def is_user_error(err: BaseException) -> bool:
    """A named config/data/weights error, or a ``ValueError`` Hydra raises itself while
    parsing overrides (e.g. ``backend=0``: "Config group override must be a string or a
    list"), which it does not wrap in its own error types.

    Parameters
    ----------
    err : BaseException
        The error a command raised.

    Returns
    -------
    bool
        True: shown as one line with exit status 2; False: a bug, shown with its traceback.
    """
    if isinstance(err, _user_errors()):
        return True
    if isinstance(err, ValueError) and err.__traceback__ is not None:
        tb = err.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        return f"{os.sep}hydra{os.sep}" in tb.tb_frame.f_code.co_filename
    return False


def one_line(err: BaseException) -> str:
    """The error's message on one line, with its cause's first line when Hydra wraps one
    (``Error merging override ...`` says where, the OmegaConf cause says what).

    Parameters
    ----------
    err : BaseException
        The error.

    Returns
    -------
    str
        Its message, whitespace collapsed (the class name when empty).

    Examples
    --------
    >>> one_line(ValueError("dataset.root:\\n  expected a directory"))
    'dataset.root: expected a directory'
    """
    text = " ".join(str(err).split()) or type(err).__name__
    cause = err.__cause__
    if cause is not None and str(cause).strip():
        first = " ".join(str(cause).strip().splitlines()[0].split())
        if first not in text:
            text = f"{text}: {first}"
    return text


class _Filtered:
    """``sys.stderr`` minus Hydra's "Error executing job with overrides: [...]" line, which it
    writes before re-raising a job's exception (the one-line error says the same, better)."""

    PREFIX = "Error executing job with overrides:"

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        if text.startswith(self.PREFIX):
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def _without_hydra_job_banner():
    stream, sys.stderr = sys.stderr, _Filtered(sys.stderr)
    try:
        yield
    finally:
        sys.stderr = stream


def _usage() -> str:
    lines = ["usage: layerbench [--debug] [--version] <command> [arguments ...]", "",
             "commands:"]
    width = max(map(len, COMMANDS))
    lines += [f"  {name:{width}}  {doc}" for name, (_, doc) in COMMANDS.items()]
    lines += ["", "`layerbench <command> --help` describes a command, its inputs, outputs and "
              "an example.",
              "--debug (or LAYERBENCH_DEBUG=1): full tracebacks instead of one-line errors."]
    return "\n".join(lines)


def _entry(name: str, argv: list[str]) -> Callable[[], None]:
    """What runs command ``name`` with its arguments ``argv``."""
    target, doc = COMMANDS[name]
    if callable(target):
        p = parser(name, DESCRIPTIONS.get(name, doc))
        run = target(p)
        args = p.parse_args(argv)
        return lambda: run(args)
    module = importlib.import_module(target)
    sys.argv = [f"layerbench {name}", *argv]  # Hydra parses sys.argv
    return module.main


def main(argv: list[str] | None = None) -> None:
    """The ``layerbench`` command: dispatch ``argv[0]`` to its subcommand.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default ``sys.argv[1:]``). A leading
        ``--debug`` shows full tracebacks; ``--version`` prints the version.

    Raises
    ------
    SystemExit
        0 after ``--help`` or ``--version``; 2 for no or an unknown command, and for a
        user error (one line on stderr, unless ``--debug``).
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--debug":
        os.environ["LAYERBENCH_DEBUG"] = "1"
        argv = argv[1:]
    if argv and argv[0] == "--version":
        from layerbench import __version__

        print(f"layerbench {__version__}")
        raise SystemExit(0)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        raise SystemExit(0 if argv else 2)
    name = argv[0]
    if name not in COMMANDS:
        print(f"layerbench: unknown command {name!r}; expected one of {list(COMMANDS)}\n")
        print(_usage())
        raise SystemExit(2)
    debug = bool(os.environ.get("LAYERBENCH_DEBUG"))
    if not debug:
        # Hydra prints its own (stripped) traceback and exits 1 unless this is set; then the
        # exception reaches us and becomes one line.
        os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    if not debug:
        from layerbench.logs import quiet_libraries

        quiet_libraries()
    entry = _entry(name, argv[1:])
    try:
        if debug:
            entry()
        else:
            with _without_hydra_job_banner():
                entry()
    except Exception as err:
        if debug or not is_user_error(err):
            raise
        print(f"layerbench {name}: error: {one_line(err)}", file=sys.stderr)
        raise SystemExit(USER_ERROR_STATUS) from None


if __name__ == "__main__":
    main()
