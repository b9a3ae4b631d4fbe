"""What sharing one process with our backend costs Keras.

Per round, two fresh processes on the same input: Keras alone, and Keras with one of our
backends built in the same process, their calls alternating (two thread pools, TensorFlow's
and ours, in one process). Rounds are interleaved; the factor is the median Keras time in
the shared process over the median Keras time alone (> 1: sharing slows Keras down), and
likewise for our backend (alone: its own fresh process).

    python tools/keras_one_process.py                      # EDSR-baseline x2, 510x339, 2 threads
    python tools/keras_one_process.py --threads 1 --rounds 5
    python tools/keras_one_process.py --inter-op 2 --signature dynamic   # other Keras settings

Run it on a quiet machine: about 3 minutes with the defaults on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys


def measure(subject: dict, backend: str, threads: int, rounds: int, repeats: int,
            options: dict, fresh=None) -> dict:
    """Interleaved rounds of Keras alone, our backend alone and both in one process.

    Parameters
    ----------
    subject : dict
        As :func:`layerbench.runtimes.build_subject`.
    backend : str
        Our backend sharing the process.
    threads : int
    rounds : int
        Fresh processes per configuration.
    repeats : int
        Timed calls per process (after one warm-up call each).
    options : dict
        Keras settings (:func:`layerbench.runtimes.peer_call`), the same in every process.
    fresh : callable, optional
        Runs a task in a fresh process (default :func:`layerbench.runtimes.fresh`).

    Returns
    -------
    dict
        Per configuration the per-process medians (``keras_alone``, ``ours_alone``,
        ``keras_shared``, ``ours_shared``) and the factors ``keras_factor`` =
        median(keras_shared) / median(keras_alone) and ``ours_factor`` likewise.
    """
    from layerbench import runtimes

    fresh = fresh or runtimes.fresh
    got: dict[str, list[float]] = {k: [] for k in ("keras_alone", "ours_alone",
                                                   "keras_shared", "ours_shared")}
    base = {"subject": subject, "threads": threads, "repeats": repeats}
    for _ in range(rounds):
        alone = fresh({**base, "runtime": "keras", "options": options})
        got["keras_alone"].append(statistics.median(alone["seconds"]))
        ours = fresh({**base, "runtime": backend})
        got["ours_alone"].append(statistics.median(ours["seconds"]))
        shared = fresh({**base, "runtime": "keras", "options": options, "alternate": backend})
        got["keras_shared"].append(statistics.median(shared["seconds"]))
        got["ours_shared"].append(statistics.median(shared["alternate_seconds"]))
    med = {k: statistics.median(v) for k, v in got.items()}
    return {**got, "keras_factor": med["keras_shared"] / med["keras_alone"],
            "ours_factor": med["ours_shared"] / med["ours_alone"]}


def main(argv=None) -> int:
    """Parse the arguments, measure, print the factors (and the rounds as JSON).

    Parameters
    ----------
    argv : list of str, optional

    Returns
    -------
    int
        The exit status.
    """
    p = argparse.ArgumentParser(prog="python tools/keras_one_process.py",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="edsr_baseline_x2")
    p.add_argument("--size", default="510x339", help="LR width x height")
    p.add_argument("--backend", default="cython", help="our backend sharing the process")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--inter-op", type=int, default=1, help="Keras' inter-op pool")
    p.add_argument("--signature", choices=["static", "dynamic"], default="static",
                   help="Keras' tf.function input signature")
    a = p.parse_args(argv)
    from backends.errors import SpecError, expected
    from layerbench import runtimes

    try:
        for opt, v in (("--threads", a.threads), ("--rounds", a.rounds),
                       ("--repeats", a.repeats), ("--inter-op", a.inter_op)):
            if v < 1:
                raise SpecError(expected(opt, "an integer >= 1", v))
        size = list(runtimes.parse_size(a.size))
    except SpecError as err:
        print(f"keras_one_process: {err}", file=sys.stderr)
        return 2
    got = measure({"model": a.model, "size": size}, a.backend, a.threads, a.rounds,
                  a.repeats, {"inter_op": a.inter_op, "signature": a.signature})
    print(json.dumps({"machine": runtimes.machine(), "arguments": vars(a), **got}, indent=1))
    print(f"Keras alone {statistics.median(got['keras_alone']):.3f} s, beside {a.backend} in "
          f"one process {statistics.median(got['keras_shared']):.3f} s: factor "
          f"{got['keras_factor']:.2f}; {a.backend} alone "
          f"{statistics.median(got['ours_alone']):.3f} s, beside Keras "
          f"{statistics.median(got['ours_shared']):.3f} s: factor {got['ours_factor']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
