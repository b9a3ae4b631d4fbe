"""Thesis experiments: plain functions from a validated config to tidy tables.

``run.py`` is the thin Hydra entry point; :func:`runner.run_experiment` does the work:
plan shards, skip finished ones, run the rest, write each atomically with its provenance.
"""

from .runner import run_experiment

__all__ = ["run_experiment"]
