"""medcite.zipf: wordfreq's English Zipf values, from a table for plain words, from wordfreq for the rest."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

wordfreq = pytest.importorskip("wordfreq")

from medcite import zipf  # noqa: E402


@pytest.fixture
def table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEDCITE_CACHE_DIR", str(tmp_path))
    zipf.reset()
    yield tmp_path
    zipf.reset()


def test_plain_words_come_from_the_table_with_wordfreqs_values(table: Path) -> None:
    words = [w for w in wordfreq.get_frequency_dict("en") if re.fullmatch(r"[a-z]+", w)]
    sample = random.Random(7).sample(words, 3000) + ["the", "asthma", "clopidogrel", "hemodialysis", "tattoo",
                                                      "qwxzzyq", "pneumoniathe", "a"]
    assert [zipf.zipf_en(w) for w in sample] == [wordfreq.zipf_frequency(w, "en") for w in sample]
    path = zipf.table_path()
    assert path is not None and path.is_file() and path.parent == table / "vocab"
    assert zipf._conn is not None  # looked up in the table


@pytest.mark.parametrize("word", ["Asthma", "covid-19", "COVID19", "naïve", "don't", "b12", "", "x ray", "日本"])
def test_other_words_go_to_wordfreq(table: Path, word: str) -> None:
    assert zipf.zipf_en(word) == wordfreq.zipf_frequency(word, "en")


def test_a_table_that_cannot_be_built_leaves_wordfreq_answering(tmp_path: Path, monkeypatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("MEDCITE_CACHE_DIR", str(blocked))
    zipf.reset()
    try:
        assert zipf.zipf_en("asthma") == wordfreq.zipf_frequency("asthma", "en")
        assert zipf._conn is None
    finally:
        zipf.reset()
