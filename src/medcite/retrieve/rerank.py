"""Evidence-aware reranking: weigh what a clinician would weigh, then keep the list diverse.

``final = relevance + kind_weight · prior(kind) + recency_weight · recency(year) − superseded_penalty``
where ``relevance`` is the fused score scaled to [0, 1] by the best candidate. Deleted and retracted
documents never reach this stage (their passages leave the index); superseded ones are demoted.
Diversity: at most ``max_per_doc`` passages of one document in the top of the list; the rest move
below every other document's passages, in their original order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

DEFAULT_KIND_PRIOR: dict[str, float] = {
    "guideline": 1.0,
    "systematic_review": 0.95,
    "randomized_trial": 0.75,
    "drug_label": 0.6,
    "review": 0.5,
    "patient_info": 0.5,
    "observational": 0.45,
    "case_report": 0.2,
    "other": 0.3,
}


@dataclass(frozen=True)
class RerankWeights:
    kind_weight: float = 0.15
    kind_prior: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_KIND_PRIOR))
    recency_weight: float = 0.05
    recency_half_life_years: float = 10.0
    superseded_penalty: float = 0.3
    max_per_doc: int = 3


@dataclass(frozen=True)
class Candidate:
    key: int
    doc_id: str
    kind: str
    year: int | None
    status: str
    relevance: float
    final: float = 0.0
    parts: Mapping[str, float] = field(default_factory=dict)


def recency(year: int | None, now_year: int, half_life: float) -> float:
    """1.0 for this year, halving every ``half_life`` years; 0.5 when the year is unknown."""
    if not year:
        return 0.5
    age = max(0, now_year - int(year))
    return math.pow(0.5, age / half_life) if half_life > 0 else 0.0


def evidence_rerank(candidates: Sequence[Candidate], weights: RerankWeights, now_year: int) -> list[Candidate]:
    if not candidates:
        return []
    top = max(c.relevance for c in candidates) or 1.0
    scored: list[Candidate] = []
    for c in candidates:
        rel = c.relevance / top
        prior = weights.kind_weight * weights.kind_prior.get(c.kind, weights.kind_prior.get("other", 0.0))
        rec = weights.recency_weight * recency(c.year, now_year, weights.recency_half_life_years)
        pen = weights.superseded_penalty if c.status == "superseded" else 0.0
        final = rel + prior + rec - pen
        scored.append(replace(c, final=final, parts={"relevance": rel, "kind": prior, "recency": rec, "penalty": -pen}))
    scored.sort(key=lambda c: (-c.final, -c.relevance, c.key))
    return diversify(scored, weights.max_per_doc)


def diversify(ranked: Sequence[Candidate], max_per_doc: int) -> list[Candidate]:
    if max_per_doc <= 0:
        return list(ranked)
    head: list[Candidate] = []
    tail: list[Candidate] = []
    per_doc: dict[str, int] = {}
    for c in ranked:
        n = per_doc.get(c.doc_id, 0)
        (head if n < max_per_doc else tail).append(c)
        per_doc[c.doc_id] = n + 1
    return head + tail
