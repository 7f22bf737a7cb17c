"""The answer-quality question sets parse, have unique ids, and keep the layout docs/eval-questions.md gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcite.evaluation.answers import load_questions

EVAL = Path(__file__).resolve().parent.parent / "eval"


@pytest.mark.parametrize("name,n,answerable", [("dev", 50, 39), ("holdout", 40, 32), ("test", 36, 30),
                                                ("fresh", 32, 26), ("blind", 80, 62), ("unseen", 64, 46),
                                                ("final", 48, 34), ("next", 64, 46),
                                                ("later", 64, 46)])
def test_question_set_layout(name: str, n: int, answerable: int) -> None:
    qs = load_questions(EVAL / f"answers_{name}.jsonl")
    assert len(qs) == n and sum(bool(q.gold) for q in qs) == answerable
    assert len({q.qid for q in qs}) == n
    for q in qs:
        assert q.audience in ("clinician", "patient")
        if q.gold:
            assert 1 <= len(q.key_facts) <= 3 and all(q.key_facts), q.qid
        else:
            assert not q.key_facts and q.qid.startswith("unans-"), q.qid


def test_question_sets_do_not_share_ids_or_gold_documents() -> None:
    sets = {name: load_questions(EVAL / f"answers_{name}.jsonl")
            for name in ("dev", "holdout", "test", "fresh", "blind", "unseen", "final", "next",
                         "later")}
    ids = [q.qid for qs in sets.values() for q in qs]
    assert len(ids) == len(set(ids))
    questions = [q.question.strip().lower() for qs in sets.values() for q in qs]
    assert len(questions) == len(set(questions))
    assert not {g for q in sets["test"] for g in q.gold} & {g for n in ("dev", "holdout") for q in sets[n] for g in q.gold}
    assert not {g for q in sets["fresh"] for g in q.gold} & {g for n in ("dev", "holdout", "test")
                                                             for q in sets[n] for g in q.gold}
