"""Keeping the dense index in step with the store, incrementally.

The store is the source of truth. :class:`DenseIndexer` compares the passage row ids in the store
with the ids in the vector index: new passages are embedded, ids whose passages were deleted or
replaced (an updated document gets new passage rows) are removed. It saves every few thousand
vectors, so an interrupted run loses little and the next run carries on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from medcite.store.sqlite import Store

#: text given to the embedder for a passage: the title gives full-text passages their topic
EMBED_TEMPLATE_VERSION = "title+text/1"


def passage_embedding_text(title: str, heading: str, text: str) -> str:
    title = (title or "").strip()
    if title and not text.startswith(title[:40]):
        return f"{title}. {text}"
    return text


@dataclass
class DenseStatus:
    passages: int
    embedded: int
    pending: int
    stale: int

    def to_dict(self) -> dict[str, int]:
        return {"passages": self.passages, "embedded": self.embedded, "pending": self.pending, "stale": self.stale}


Batches = Iterator[tuple[list[int], list[str]]]
EmbedMap = Callable[[Batches], Iterator[tuple[list[int], np.ndarray]]]
"""Embeds batches somewhere else (``medcite.cluster.ray_embed`` embeds them on Ray workers): given
``(passage ids, texts)`` batches, yields ``(the same ids, their vectors)`` in the same order."""


class DenseIndexer:
    def __init__(self, store: Store, embedder: Any, vectors: Any, batch_size: int = 64, save_every: int = 4096,
                 embed_map: EmbedMap | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.vectors = vectors
        self.batch_size = batch_size
        self.save_every = save_every
        #: where batches are embedded (None: by ``embedder`` in this process)
        self.embed_map = embed_map

    def _diff(self) -> tuple[list[int], list[int]]:
        live = np.fromiter((r[0] for r in self.store.conn.execute("SELECT id FROM passages")), dtype=np.int64)
        have = np.asarray(self.vectors.ids(), dtype=np.int64)
        add = np.setdiff1d(live, have, assume_unique=True)
        stale = np.setdiff1d(have, live, assume_unique=True)
        return add.tolist(), stale.tolist()

    def status(self) -> DenseStatus:
        add, stale = self._diff()
        total = self.store.passage_count()
        return DenseStatus(total, total - len(add), len(add), len(stale))

    def run(self, progress: Callable[[int, int], None] | None = None, limit: int | None = None) -> dict[str, Any]:
        """Embed pending passages and drop stale vectors; ``progress(done, total)`` after each batch."""
        t0 = time.perf_counter()
        self._remove_leftovers()
        add, stale = self._diff()
        if stale:
            self.vectors.remove(stale)
        if limit is not None:
            add = add[:limit]
        done = 0
        since_save = 0
        batches = self._batches(add)
        if self.embed_map is not None:
            embedded = self.embed_map(batches)
        else:
            embedded = ((ids, self.embedder.embed(texts)) for ids, texts in batches)
        try:
            for ids, vecs in embedded:
                self.vectors.add(np.asarray(ids, dtype=np.int64), vecs)
                done += len(ids)
                since_save += len(ids)
                if since_save >= self.save_every:
                    self.vectors.save()
                    since_save = 0
                if progress:
                    progress(done, len(add))
        finally:
            close = getattr(embedded, "close", None)
            if close:
                close()  # stop the workers' batches still under way (an interrupt, an error)
            if done or stale:
                self.vectors.save()
                self._remove_leftovers()
        seconds = time.perf_counter() - t0
        return {"embedded": done, "removed": len(stale), "seconds": round(seconds, 1),
                "passages_per_s": round(done / seconds, 1) if seconds and done else 0.0}

    def _remove_leftovers(self) -> None:
        """Files an embed killed mid-save left behind (the index itself is always whole: see vector.py)."""
        path = getattr(self.vectors, "path", None)
        if path is not None:
            from medcite.index.vector import remove_leftovers

            remove_leftovers(path)

    def _batches(self, add: list[int]) -> Batches:
        """``(ids, texts)`` of the passages to embed, ``batch_size`` at a time, read as they are needed."""
        for start in range(0, len(add), self.batch_size):
            rows = self._texts(add[start : start + self.batch_size])
            if rows:
                yield [i for i, _ in rows], [t for _, t in rows]

    def _texts(self, ids: Iterable[int]) -> list[tuple[int, str]]:
        ids = list(ids)
        marks = ",".join("?" * len(ids))
        rows = self.store.conn.execute(
            f"SELECT id, title, heading, text FROM passages WHERE id IN ({marks})", ids
        ).fetchall()
        by_id = {r[0]: passage_embedding_text(r[1], r[2], r[3]) for r in rows}
        return [(i, by_id[i]) for i in ids if i in by_id]
