"""Hydra configs, installed as the package layerbench.conf (see setup.py)."""
