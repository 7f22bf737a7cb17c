"""Reciprocal rank fusion — a pure function with deterministic tie-breaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Mapping, Sequence


@dataclass(frozen=True)
class Fused:
    key: Hashable
    score: float
    ranks: Mapping[str, int] = field(default_factory=dict)  # run name → 1-based rank in that run


def reciprocal_rank_fusion(
    runs: Mapping[str, Sequence[Hashable]],
    *,
    k: int = 60,
    weights: Mapping[str, float] | None = None,
    limit: int | None = None,
) -> list[Fused]:
    """Fuse ranked lists: ``score(d) = Σ_run weight_run / (k + rank_run(d))``.

    Ties are broken by the best (lowest) rank in any run, then by the number of runs that found the
    item, then by the key itself — so the same inputs always give the same order.
    """
    scores: dict[Hashable, float] = {}
    ranks: dict[Hashable, dict[str, int]] = {}
    for name, ranking in runs.items():
        w = 1.0 if weights is None else float(weights.get(name, 1.0))
        if w == 0.0:
            continue
        seen: set[Hashable] = set()
        for rank, key in enumerate(ranking, start=1):
            if key in seen:
                continue
            seen.add(key)
            scores[key] = scores.get(key, 0.0) + w / (k + rank)
            ranks.setdefault(key, {})[name] = rank
    order = sorted(
        scores,
        key=lambda key: (-scores[key], min(ranks[key].values()), -len(ranks[key]), str(key)),
    )
    if limit is not None:
        order = order[:limit]
    return [Fused(key, scores[key], dict(ranks[key])) for key in order]
