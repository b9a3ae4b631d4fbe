"""Hypothesis over config overrides: random keys (known, unknown, ``+added``) with random
values (numbers, text, lists, null, arbitrary characters). Composition plus
``schema.validate`` either gives a ``Config`` or raises a named config error
(``ConfigError``, Hydra's or OmegaConf's; what ``layerbench.cli.is_user_error`` turns into a
one-line message): never a ``TypeError``/``KeyError`` from inside.
"""

from __future__ import annotations

import dataclasses
import typing

from hydra import compose, initialize_config_dir
from hypothesis import given, settings
from hypothesis import strategies as st

from layerbench import schema
from layerbench.cli import is_user_error
from layerbench.confdir import CONFIG_PATH


def _keys(cls, prefix="") -> list[str]:
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = prefix + f.name
        out.append(key)
        if dataclasses.is_dataclass(hints[f.name]):
            out += _keys(hints[f.name], key + ".")
    return out


KEYS = _keys(schema.Config)
SAFE = st.text("abcxyz_019.-", min_size=0, max_size=8)
values = st.one_of(
    st.integers(-5, 600).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    SAFE, st.sampled_from(["null", "true", "false", "[]", "{}", "???"]),
    st.lists(st.integers(-2, 6), max_size=4).map(lambda v: "[" + ",".join(map(str, v)) + "]"),
    st.lists(SAFE, max_size=3).map(lambda v: "[" + ",".join(v) + "]"),
    st.text(max_size=12),  # anything, grammar characters included
)
keys = st.one_of(st.sampled_from(KEYS), st.from_regex(r"\+?[a-z_]{1,8}(\.[a-z_]{1,8}){0,2}",
                                                       fullmatch=True))


# A composition costs ~0.3 s here: 40 examples in the test command (any profile), the fuzz
# profile's own number under `nox -s fuzz`.
EXAMPLES = 40 if settings.default.derandomize else settings.default.max_examples


@settings(max_examples=EXAMPLES)
@given(overrides=st.lists(st.tuples(keys, values), min_size=1, max_size=3))
def test_random_overrides_give_a_config_or_a_named_error(overrides):
    strings = [f"{k}={v}" for k, v in overrides]
    try:
        with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
            cfg = compose(config_name="config", overrides=strings)
        assert isinstance(schema.validate(cfg), schema.Config)
    except Exception as err:
        if not is_user_error(err):
            raise
        assert str(err).strip(), f"{strings}: an error without a message"
