"""medcite.regexcache: a cached pattern is the pattern ``re.compile`` makes (same flags, groups and matcher code)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from medcite import blobcache, regexcache

PATTERNS = [
    (r"\b(?:aspirin|ibuprofen)\b", re.I),
    (r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>mg|g)", 0),
    (r"^\W{0,3}[\w'’ -]{1,30}:$", re.M),
    (r"(?<![\w+/])[A-Za-z0-9+/]{20,}={0,2}(?![\w+/])", 0),
    (rb"[\x00-\x08]+", 0),
    ("[\u0370-\u03ff\u0400-\u04ff]", re.I | re.S),
    (r"(a)|(?P<b>b)(?(1)c|d)", re.X),
]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEDCITE_CACHE_DIR", str(tmp_path))
    regexcache.clear()
    yield tmp_path
    regexcache.clear()


@pytest.mark.parametrize(("pattern", "flags"), PATTERNS)
def test_a_cached_pattern_equals_the_compiled_one(cache_dir: Path, pattern, flags) -> None:
    first = regexcache.compile(pattern, flags)
    regexcache.save()
    regexcache.clear()
    cached = regexcache.compile(pattern, flags)  # from the blob this time
    assert not regexcache._new, "the second compile must come from the cache"
    fresh = re.compile(pattern, flags)
    for p in (first, cached):
        assert p == fresh  # flags and generated code
        assert (p.pattern, p.flags, p.groups, dict(p.groupindex)) == \
               (fresh.pattern, fresh.flags, fresh.groups, dict(fresh.groupindex))


def test_the_blob_holds_every_new_pattern_and_a_damaged_one_is_ignored(cache_dir: Path) -> None:
    for pattern, flags in PATTERNS:
        regexcache.compile(pattern, flags)
    regexcache.save()
    path = regexcache.cache_file()
    assert path is not None and path.parent.parent == cache_dir
    assert set(blobcache.load(path)) == {(p, int(f)) for p, f in PATTERNS}
    path.write_bytes(b"not marshal")
    regexcache.clear()
    assert regexcache.compile(*PATTERNS[0]) == re.compile(*PATTERNS[0])


def test_a_wrong_entry_is_compiled_afresh(cache_dir: Path) -> None:
    pattern = r"colou?r"
    blobcache.save(regexcache.cache_file(), {(pattern, 0): ("x",)}, "regex-")
    regexcache.clear()
    assert regexcache.compile(pattern).match("color")


def test_a_bad_pattern_raises_as_re_compile_does(cache_dir: Path) -> None:
    with pytest.raises(re.error):
        regexcache.compile(r"(unclosed")


def test_medcites_own_patterns_are_unchanged_by_the_cache(tmp_path: Path) -> None:
    """Every pattern the answer modules compile, built from a blob written by an earlier process, equals
    ``re.compile``'s."""
    script = """
import re, sys
from medcite import regexcache
seen = []
real = regexcache.compile
def spy(pattern, flags=0):
    seen.append((pattern, int(flags)))
    return real(pattern, flags)
regexcache.compile = spy
import medcite.answer.safety, medcite.answer.sentences, medcite.answer.qtypes, medcite.retrieve.query
for c in medcite.answer.safety._CUES:
    c.rx
bad = [p for p, f in seen if real(p, f) != re.compile(p, f)]
print(len(seen), len(regexcache._new), len(bad))
"""
    env = {"MEDCITE_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
            for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    (n1, new1, bad1), (n2, new2, bad2) = (map(int, r.stdout.split()) for r in runs)
    assert n1 > 50 and new1 > 0 and bad1 == 0
    assert n2 == n1 and new2 == 0 and bad2 == 0  # the second process parsed nothing


def test_reimport_is_harmless() -> None:
    importlib.reload(regexcache)
    assert regexcache.compile(r"a+") == re.compile(r"a+")
