"""Ranking metrics — pure functions over ranked keys and a set of relevant keys."""

from __future__ import annotations

import math
import statistics
from typing import Hashable, Sequence


def recall_at(ranked: Sequence[Hashable], relevant: set, k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / len(relevant)


def hit_at(ranked: Sequence[Hashable], relevant: set, k: int) -> float:
    return 1.0 if set(ranked[:k]) & relevant else 0.0


def mrr_at(ranked: Sequence[Hashable], relevant: set, k: int = 10) -> float:
    for i, key in enumerate(ranked[:k], start=1):
        if key in relevant:
            return 1.0 / i
    return 0.0


def ndcg_at(ranked: Sequence[Hashable], relevant: set, k: int = 10, n_relevant: int | None = None) -> float:
    """Binary-gain nDCG@k; the ideal list holds ``min(k, n_relevant)`` relevant items."""
    dcg = sum(1.0 / math.log2(i + 1) for i, key in enumerate(ranked[:k], start=1) if key in relevant)
    n = len(relevant) if n_relevant is None else n_relevant
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, n) + 1))
    return dcg / ideal if ideal else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(sorted(values), n=100, method="inclusive")[int(q) - 1])
