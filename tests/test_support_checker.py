"""The support checker: labelled set target, number/negation flips, verbatim, citation markers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from medcite.answer.support import (
    SUPPORTED_AT,
    HeuristicSupportChecker,
    SupportChecker,
    parse_citations,
    split_statements,
    strip_markers,
)

DATA = Path(__file__).resolve().parent / "data" / "support_pairs.jsonl"
PASSAGE = (
    "In this randomised trial of 1,200 adults with type 2 diabetes, empagliflozin reduced cardiovascular "
    "mortality by 15% compared with placebo (hazard ratio 0.85). Hospitalisation for heart failure was also "
    "lower with empagliflozin. The drug did not reduce the rate of non-fatal stroke. Genital infections "
    "were more common in the empagliflozin group."
)
checker = HeuristicSupportChecker()


def test_is_a_support_checker() -> None:
    assert isinstance(checker, SupportChecker) and checker.name


def test_labelled_set_meets_target() -> None:
    rows = [json.loads(line) for line in DATA.open()]
    assert len(rows) >= 200
    assert abs(sum(r["label"] for r in rows) - len(rows) / 2) <= 2
    assert sum(r["kind"] == "verbatim" for r in rows) <= sum(r["label"] for r in rows) / 3
    tp = fp = fn = 0
    for r in rows:
        ok = checker.score(r["statement"], [r["passage"]]) >= SUPPORTED_AT
        tp += ok and r["label"] == 1
        fp += ok and r["label"] == 0
        fn += (not ok) and r["label"] == 1
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9, precision
    assert recall >= 0.8, recall


def test_verbatim_is_fully_supported() -> None:
    s = "Hospitalisation for heart failure was also lower with empagliflozin [2]."
    assert checker.score(s, [PASSAGE]) == 1.0


def test_paraphrase_is_supported() -> None:
    s = "Compared with placebo, empagliflozin lowered cardiovascular mortality by 15% [1]."
    assert checker.score(s, [PASSAGE]) >= SUPPORTED_AT


def test_number_change_is_caught() -> None:
    s = "Empagliflozin reduced cardiovascular mortality by 50% compared with placebo."
    assert checker.score(s, [PASSAGE]) < SUPPORTED_AT


def test_negation_flip_is_caught() -> None:
    assert checker.score("The drug did reduce the rate of non-fatal stroke.", [PASSAGE]) < SUPPORTED_AT
    assert checker.score("Hospitalisation for heart failure was not lower with empagliflozin.", [PASSAGE]) < SUPPORTED_AT


def test_direction_flip_is_caught() -> None:
    s = "Empagliflozin increased cardiovascular mortality by 15% compared with placebo."
    assert checker.score(s, [PASSAGE]) < SUPPORTED_AT


def test_intervention_swap_is_caught() -> None:
    s = "Dapagliflozin reduced cardiovascular mortality by 15% compared with placebo."
    assert checker.score(s, [PASSAGE]) < SUPPORTED_AT


def test_unrelated_passage_is_not_support() -> None:
    s = "Statins lower LDL cholesterol in adults with familial hypercholesterolaemia."
    assert checker.score(s, [PASSAGE]) < 0.3
    assert checker.score(s, []) == 0.0


def test_max_over_passages() -> None:
    s = "Genital infections were more common in the empagliflozin group."
    assert checker.score(s, ["Unrelated text about knee surgery.", PASSAGE]) == 1.0


def test_twenty_statements_under_50ms() -> None:
    rows = [json.loads(line) for line in DATA.open()][:20]
    jobs = [(r["statement"], [r["passage"] + " "]) for r in rows]  # fresh strings: no passage cache
    checker.score("warm up the word caches", [PASSAGE])
    t0 = time.perf_counter()
    for statement, passages in jobs:
        checker.score(statement, passages)
    assert (time.perf_counter() - t0) * 1000 < 200  # measured ~12 ms; loose bound for busy CI machines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Aspirin helps [1].", [1]),
        ("A [1, 3] and B [3].", [1, 3]),
        ("See [2-4].", [2, 3, 4]),
        ("See [2–4] and [1].", [2, 3, 4, 1]),
        ("Range [4-2] is odd.", [4]),
        ("No markers here (1).", []),
        ("[0] is ignored, [12] kept.", [12]),
        ("Mixed [1,2-3, 5].", [1, 2, 3, 5]),
    ],
)
def test_parse_citations(text: str, expected: list[int]) -> None:
    assert parse_citations(text) == expected


def test_strip_markers() -> None:
    assert strip_markers("Aspirin helps [1, 2]. Bleeding is the main harm [3].") == \
        "Aspirin helps. Bleeding is the main harm."


def test_split_statements_keeps_markers() -> None:
    text = "Aspirin lowers MI risk [1]. Bleeding is the main harm. [2] The net benefit depends on risk [1-3]."
    assert split_statements(text) == [
        "Aspirin lowers MI risk [1].",
        "Bleeding is the main harm. [2]",
        "The net benefit depends on risk [1-3].",
    ]
