"""Nothing in the project tells how it was built: no accounts of rounds of work, issue
numbers, names of intermediate branches, or machine-sharing anecdotes, in any tracked text
file (code, comments, docstrings, docs, configs, committed result headers). The history of
user-visible changes belongs in CHANGELOG.md, which is the one file not scanned.

The phrases are precise on purpose: "nox session", "a helper function" or "the main
branch of a conditional" are fine; "the session before", "four other helpers", "issue 13's
targets" or "the shared VM" are not.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PHRASES = {
    "work sessions": r"\b(this|last|previous|earlier|next|the) sessions? "
                     r"(before|ago|of (the|this) issue)\b"
                     r"|\b(other|four other|several) sessions\b|\bsessions? of the issue\b",
    "helpers": r"\b(other|four other|the other) helpers\b|\bhelper (script|session)s?\b",
    "issue numbers": r"\bissues? ?#\d+|\bissue[- ]\d+\b|\bIssue \d+'s\b|\bi\d+[cn]?'s\b",
    "branch names": r"\b(intermediate|feature|helper) branch(es)?\b|\bbranch i\d+"
                    r"|\bi\d+[a-z]\b at [0-9a-f]{7}",
    "machine sharing": r"\bshared (machine|VM|2-core|box)\b|\bmachine shared with\b"
                       r"|\bVM shared with\b",
    "the lead": r"\bthe lead\b(?! (time|author|singer))",
    "rounds of work": r"\b(earlier|previous|final|this|last) round( of work)?\b(?! (trip|robin))"
                      r"|\brounds of work\b",
    "internal documents": r"\bSPEC(\.md)? ?§|\bARCHITECTURE\.md\b|\bTOOLING-NOTES\b",
}

SKIP = {"CHANGELOG.md", "tests/test_no_build_history.py"}

# Files allowed to keep such a phrase, with how many lines and why (none today). A listed
# file that has become clean fails test_exceptions_are_still_needed, so the list only shrinks.
EXCEPTIONS: dict[str, int] = {}
TEXT = {".py", ".pyx", ".pxd", ".md", ".txt", ".rst", ".yaml", ".yml", ".toml", ".cfg", ".json",
        ".cff", ".sh", ""}


def tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout ({exc})")
    files = []
    for rel in out.splitlines():
        path = ROOT / rel
        if rel in SKIP or rel.startswith("results/asv/") or path.suffix not in TEXT:
            continue
        if path.is_file() and path.stat().st_size < 2_000_000:
            files.append(path)
    return files


def find(text: str) -> list[tuple[str, str]]:
    """``(kind, matched text)`` of every build-history phrase in ``text``."""
    return [(kind, m.group(0)) for kind, pattern in PHRASES.items()
            for m in re.finditer(pattern, text, re.I)]


def hits_per_file() -> dict[str, list[str]]:
    """Every build-history phrase of the tracked text files, per file (relative path)."""
    hits: dict[str, list[str]] = {}
    for path in tracked_text_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        rel = path.relative_to(ROOT).as_posix()
        for lineno, line in enumerate(text.splitlines(), 1):
            hits.setdefault(rel, []).extend(f"{rel}:{lineno}: {kind}: {match!r}"
                                            for kind, match in find(line))
    return {rel: found for rel, found in hits.items() if found}


def test_no_build_history_in_tracked_files():
    found = hits_per_file()
    new = [hit for rel, hits in found.items() for hit in hits
           if len(hits) > EXCEPTIONS.get(rel, 0)]
    assert not new, "build history in the project:\n" + "\n".join(new)


def test_exceptions_are_still_needed():
    found = hits_per_file()
    clean = [rel for rel in EXCEPTIONS if rel not in found]
    assert not clean, f"no longer needed in EXCEPTIONS (remove them): {clean}"


@pytest.mark.parametrize("text", [
    "measured on the shared VM at load 9", "Issue 13's targets", "i13c's Cython kernels",
    "The session before, with the bug", "a 2-core machine shared with four other helpers",
    "its scoring notebook, SPEC §3b", "the final round on the AMD machine",
])
def test_phrases_are_caught(text):
    assert find(text), text


@pytest.mark.parametrize("text", [
    "nox -s docs (a nox session)", "a helper function for the tests", "the main branch of the if",
    "rounded to the nearest", "a round trip through the rotation", "the shared library",
    "one thread of a 2-core machine", "Hydra's session-free launcher",
])
def test_ordinary_words_pass(text):
    assert not find(text), text
