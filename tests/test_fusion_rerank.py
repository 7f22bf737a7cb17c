from hypothesis import given, strategies as st

from medcite.retrieve.fusion import reciprocal_rank_fusion
from medcite.retrieve.rerank import Candidate, RerankWeights, diversify, evidence_rerank


def test_rrf_scores_and_order():
    fused = reciprocal_rank_fusion({"lexical": [1, 2, 3], "dense": [3, 1, 4]}, k=60)
    assert [f.key for f in fused] == [1, 3, 2, 4]
    assert fused[0].ranks == {"lexical": 1, "dense": 2}
    assert abs(fused[0].score - (1 / 61 + 1 / 62)) < 1e-12


def test_rrf_ties_are_deterministic():
    a = reciprocal_rank_fusion({"x": [5, 6], "y": [6, 5]})
    b = reciprocal_rank_fusion({"y": [6, 5], "x": [5, 6]})
    assert [f.key for f in a] == [f.key for f in b] == [5, 6]


def test_rrf_weights_and_zero_weight():
    fused = reciprocal_rank_fusion({"lexical": [1], "dense": [2]}, weights={"lexical": 0.0})
    assert [f.key for f in fused] == [2]


@given(st.lists(st.integers(0, 30), max_size=20), st.lists(st.integers(0, 30), max_size=20))
def test_rrf_is_a_pure_permutation_of_the_union(a, b):
    fused = reciprocal_rank_fusion({"a": a, "b": b})
    assert sorted(f.key for f in fused) == sorted(set(a) | set(b))
    assert fused == reciprocal_rank_fusion({"a": a, "b": b})


def cand(key, kind="other", rel=1.0, doc=None, year=2020, status="active"):
    return Candidate(key=key, doc_id=doc or f"d{key}", kind=kind, year=year, status=status, relevance=rel)


def test_guideline_beats_case_report_at_equal_relevance():
    out = evidence_rerank([cand(1, "case_report"), cand(2, "guideline")], RerankWeights(), 2026)
    assert [c.key for c in out] == [2, 1]


def test_relevance_still_dominates_kind():
    out = evidence_rerank([cand(1, "case_report", rel=1.0), cand(2, "guideline", rel=0.3)], RerankWeights(), 2026)
    assert [c.key for c in out] == [1, 2]


def test_superseded_is_demoted_and_recent_preferred():
    out = evidence_rerank([cand(1, status="superseded"), cand(2, year=1990), cand(3, year=2025)], RerankWeights(), 2026)
    assert [c.key for c in out] == [3, 2, 1]


def test_diversity_caps_one_document():
    ranked = [cand(i, doc="same") for i in range(5)] + [cand(9, doc="other")]
    assert [c.key for c in diversify(ranked, 3)] == [0, 1, 2, 9, 3, 4]
