"""The dense vector index: exact (numpy) or approximate (usearch HNSW), persisted beside the database.

Keys are the store's ``passages.id`` row ids (int64); vectors are float32, L2-normalised, so the
inner product is the cosine. Two implementations share one on-disk layout::

    <path>.json               manifest: kind, dim, count, embedder id, generation, file names and sizes
    <path>.g<N>.ids.npy       int64 ids of the live vectors, sorted ascending
    <path>.g<N>.f32.npy       float32 (count, dim) vectors, row i belongs to ids[i]
    <path>.g<N>.hnsw          usearch graph (HnswIndex only; int8 quantised, cosine)

Saving writes a new generation of data files (each through a temp file and ``os.replace``), then
replaces the manifest — the commit point — then deletes the previous generation. A crash at any
moment leaves either the old or the new index readable, never a mix. Files are memory-mapped on
load, so opening a large index is instant and pages come in as searches touch them.

Updates are incremental: :meth:`add` appends (re-adding an id replaces it), :meth:`remove` masks
rows; removed ids never come back from :meth:`search`, and masked rows are dropped on save.

:func:`open_vector_index` picks the implementation: exact below ``ann_threshold`` vectors, HNSW
at or above it. An exact index opened in "auto" mode promotes itself on :meth:`save` when its
count has crossed the threshold (the graph is built from the stored vectors); an HNSW index is
only demoted once its count falls below half the threshold, so an index hovering around the
threshold does not rebuild its graph on every save.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Protocol, runtime_checkable

import numpy as np

from medcite.index.paths import default_index_path, manifest_path  # noqa: F401  (re-exported)
from medcite.errors import ConfigError, IndexMissingError, ReindexRequired

FORMAT = "medcite-vectors"
FORMAT_VERSION = 1
USEARCH_PIN = "usearch==2.26.6"

# HNSW parameters (see docs/vector-index.md for how they were chosen).
HNSW_CONNECTIVITY = 16        # "M": graph links per node
HNSW_EXPANSION_ADD = 64       # "efConstruction"
HNSW_EXPANSION_SEARCH = 1024  # "ef": candidate list size while searching
HNSW_OVERSAMPLE = 8           # ask the graph for k * 8 candidates ...
HNSW_MIN_CANDIDATES = 80      # ... and at least 80, then rescore them exactly in float32
_DEFAULT_PARAMS = {"connectivity": HNSW_CONNECTIVITY, "expansion_add": HNSW_EXPANSION_ADD,
                   "expansion_search": HNSW_EXPANSION_SEARCH}

_EMPTY_IDS = np.empty(0, dtype=np.int64)
_EMPTY_SCORES = np.empty(0, dtype=np.float32)
_REBUILD_HINT = "run `medcite embed --rebuild`"


@runtime_checkable
class VectorIndex(Protocol):
    name: str
    dim: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: Iterable[int]) -> None: ...

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def __len__(self) -> int: ...

    def ids(self) -> np.ndarray: ...

    def save(self) -> None: ...


# --- file helpers ---------------------------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest of the index at ``path``; None when there is no index; IndexMissingError when corrupt."""
    mpath = manifest_path(path)
    try:
        raw = mpath.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _corrupt(path, f"cannot read {mpath.name}: {exc}") from exc
    try:
        m = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, f"{mpath.name} is not valid JSON") from exc
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise _corrupt(path, f"{mpath.name} is not a medcite vector manifest")
    if m.get("version") != FORMAT_VERSION:
        raise ReindexRequired(f"vector index at {path} has format version {m.get('version')!r}, "
                              f"this medcite reads version {FORMAT_VERSION}", hint="run `medcite reindex`")
    try:
        m["dim"] = int(m["dim"])
        m["count"] = int(m["count"])
        m["generation"] = int(m["generation"])
        if m.get("kind") not in ("exact", "hnsw") or not isinstance(m.get("files"), dict):
            raise ValueError("kind/files")
        if m["dim"] <= 0 or m["count"] < 0:
            raise ValueError("dim/count")
    except (KeyError, TypeError, ValueError) as exc:
        raise _corrupt(path, f"{mpath.name} lacks or has a bad field ({exc})") from exc
    return m


def _corrupt(path: Path, why: str) -> IndexMissingError:
    return IndexMissingError(f"vector index at {path} is corrupt ({why})", hint=_REBUILD_HINT)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _tmp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def remove_leftovers(path: Path) -> list[str]:
    """Delete what a killed save left beside the index at ``path``: temp files of processes that are gone,
    and data files of generations up to the manifest's that the manifest does not name. Returns their names."""
    path = Path(path)
    base, stem = path.parent, path.name
    try:
        m = read_manifest(path)
    except (IndexMissingError, ReindexRequired):
        return []  # a damaged index is for `medcite embed --rebuild` to replace, not for a sweep to guess at
    keep = set(((m or {}).get("files") or {}).values())
    gen = int((m or {}).get("generation", 0))
    removed: list[str] = []
    for p in base.glob(f".{stem}.*.tmp"):
        parts = p.name.rsplit(".", 3)  # .<file>.<pid>.<thread>.tmp
        try:
            pid = int(parts[1])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid() or not _alive(pid):
            p.unlink(missing_ok=True)
            removed.append(p.name)
    prefix = f"{stem}.g"
    for p in base.glob(f"{stem}.g*"):
        number = p.name[len(prefix):].split(".", 1)[0]
        if number.isdigit() and int(number) <= gen and p.name not in keep:
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    tmp = _tmp_name(target)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _atomic_write_array(target: Path, rows: np.ndarray, source: np.ndarray, chunk: int = 65536) -> None:
    """Write ``source[rows]`` as a .npy file, chunk by chunk (no full in-memory copy), atomically."""
    tmp = _tmp_name(target)
    shape = (len(rows),) + tuple(source.shape[1:])
    try:
        if len(rows) == 0:
            with open(tmp, "wb") as fh:
                np.save(fh, np.empty(shape, dtype=source.dtype), allow_pickle=False)
        else:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=source.dtype, shape=shape)
            for start in range(0, len(rows), chunk):
                sel = rows[start:start + chunk]
                out[start:start + len(sel)] = source[sel]
            out.flush()
            del out
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _load_array(path: Path, fpath: Path, expect_shape: tuple[int, ...], dtype: np.dtype,
                expect_size: int | None) -> np.ndarray:
    if not fpath.is_file():
        raise IndexMissingError(f"vector index at {path} is corrupt ({fpath.name} is missing)", hint=_REBUILD_HINT)
    size = fpath.stat().st_size
    if expect_size is not None and size != expect_size:
        raise _corrupt(path, f"{fpath.name} has {size} bytes, the manifest says {expect_size}")
    try:
        mode = "r" if int(np.prod(expect_shape)) > 0 else None
        arr = np.load(fpath, mmap_mode=mode, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError/OSError/EOFError/... on a damaged file
        raise _corrupt(path, f"{fpath.name} cannot be read: {exc}") from exc
    if arr.dtype != dtype or arr.shape != expect_shape:
        raise _corrupt(path, f"{fpath.name} holds {arr.dtype}{arr.shape}, expected {dtype}{expect_shape}")
    return arr


def _as_query(query: np.ndarray, dim: int) -> np.ndarray:
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    if q.shape[0] != dim:
        raise ValueError(f"query has dimension {q.shape[0]}, the index has {dim}")
    norm = float(np.linalg.norm(q))
    if not np.isfinite(norm) or norm == 0.0:
        return np.zeros(dim, dtype=np.float32)
    return q / norm


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest scores, best first (ties broken by position)."""
    n = scores.shape[0]
    if k <= 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    if k < n:
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(n)
    return part[np.lexsort((part, -scores[part]))]


# --- the shared storage -----------------------------------------------------------------------------


class _StoredVectors:
    """ids + float32 vectors with a live mask, an id lookup, and generation-based atomic persistence."""

    name = "base"
    kind = "base"

    def __init__(self, path: Path, dim: int, *, embedder_id: str | None = None) -> None:
        if int(dim) <= 0:
            raise ValueError("dim must be positive")
        self.path = Path(path)
        self.dim = int(dim)
        self.embedder_id = embedder_id
        self._lock = threading.RLock()
        self._ids: np.ndarray = np.empty(0, dtype=np.int64)      # capacity-sized, rows [0, _n) used
        self._vecs: np.ndarray = np.empty((0, self.dim), dtype=np.float32)
        self._live: np.ndarray | None = None                       # None: every row in [0, _n) is live
        self._n = 0
        self._dead = 0
        # id -> row lookup: rows [0, _sorted_upto) through a sorted copy of their live ids;
        # rows appended since then through a dict.
        self._sorted_ids: np.ndarray = np.empty(0, dtype=np.int64)
        self._sorted_rows: np.ndarray | None = None                # None: identity (file is sorted by id)
        self._sorted_upto = 0
        self._recent: dict[int, int] = {}
        self._manifest: dict[str, Any] | None = None
        self._dirty = False
        # the HNSW graph: always present for HnswIndex; for ExactIndex only once promoted
        self.params = dict(_DEFAULT_PARAMS)
        self._graph: Any = None
        self._tombstones = 0  # removed nodes still in the graph

    # -- loading ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, dim: int, *, embedder_id: str | None = None, **kwargs: Any) -> "_StoredVectors":
        """Load the index at ``path`` if there is one, else return an empty one.

        ReindexRequired when the stored index was built by another embedder or has another
        dimension; IndexMissingError when its files are corrupt or truncated.
        """
        path = Path(path)
        m = read_manifest(path)
        _check_compatible(path, m, dim, embedder_id)
        index = cls(path, dim, embedder_id=embedder_id or (m or {}).get("embedder_id"), **kwargs)
        if m is not None:
            index._load(m)
        return index

    def _load(self, m: dict[str, Any]) -> None:
        files, sizes = m["files"], m.get("sizes") or {}
        base = self.path.parent
        count = m["count"]
        try:
            ids_name, vec_name = str(files["ids"]), str(files["vectors"])
        except KeyError as exc:
            raise _corrupt(self.path, f"manifest lists no {exc} file") from exc
        ids = _load_array(self.path, base / ids_name, (count,), np.dtype(np.int64), sizes.get(ids_name))
        vecs = _load_array(self.path, base / vec_name, (count, self.dim), np.dtype(np.float32), sizes.get(vec_name))
        if count > 1:
            sorted_ok = bool(np.all(ids[1:] > ids[:-1]))
            if not sorted_ok:
                raise _corrupt(self.path, f"{ids_name} is not strictly increasing")
        self._ids, self._vecs, self._n = ids, vecs, count
        self._live, self._dead = None, 0
        self._sorted_ids, self._sorted_rows, self._sorted_upto = ids, None, count
        self._recent = {}
        self._manifest = m
        self._dirty = False

    # -- the interface ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n - self._dead

    def ids(self) -> np.ndarray:
        with self._lock:
            rows = self._live_rows()
            return np.asarray(self._ids[rows], dtype=np.int64)

    def vectors_of(self, ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids found, their float32 vectors) for the live ids among ``ids``."""
        with self._lock:
            arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64).reshape(-1)
            rows = self._rows_of(arr)
            ok = rows >= 0
            return arr[ok], np.asarray(self._vecs[rows[ok]], dtype=np.float32)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (float32, (n, dim)) under ``ids``; an id already present is replaced."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        vecs = np.asarray(vectors, dtype=np.float32)
        if vecs.ndim == 1 and len(ids) == 1:
            vecs = vecs.reshape(1, -1)
        if vecs.ndim != 2 or vecs.shape[0] != len(ids) or vecs.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape ({len(ids)}, {self.dim}), got {vecs.shape}")
        if len(ids) == 0:
            return
        if not np.isfinite(vecs).all():
            raise ValueError("vectors contain NaN or infinity")
        if len(np.unique(ids)) != len(ids):  # the last occurrence of a repeated id wins
            _, first_in_reversed = np.unique(ids[::-1], return_index=True)
            keep = np.sort(len(ids) - 1 - first_in_reversed)
            ids, vecs = ids[keep], vecs[keep]
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        vecs = vecs / np.maximum(norms, 1e-12)
        with self._lock:
            old = self._rows_of(ids)
            replaced = old >= 0
            self._before_add(ids, vecs, ids[replaced])
            self._kill(old[replaced])
            start = self._n
            self._reserve(start + len(ids))
            self._ids[start:start + len(ids)] = ids
            self._vecs[start:start + len(ids)] = vecs
            if self._live is not None:
                self._live[start:start + len(ids)] = True
            self._n = start + len(ids)
            self._recent.update(zip(ids.tolist(), range(start, self._n)))
            self._dirty = True

    def remove(self, ids: Iterable[int]) -> None:
        """Delete ``ids`` (unknown ids are ignored); they never come back from :meth:`search`."""
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64).reshape(-1)
        if len(arr) == 0:
            return
        arr = np.unique(arr)
        with self._lock:
            rows = self._rows_of(arr)
            found = rows >= 0
            if not found.any():
                return
            self._before_remove(arr[found])
            self._kill(rows[found])
            self._dirty = True

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    # -- exact scan (shared) -------------------------------------------------------------------------

    def _exact_search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = self._n
        live_count = n - self._dead
        k = min(int(k), live_count)
        if k <= 0:
            return _EMPTY_IDS, _EMPTY_SCORES
        scores = self._vecs[:n] @ q
        if self._dead:
            scores[~self._live[:n]] = -np.inf  # type: ignore[index]
        top = _top_k(scores, k)
        return np.asarray(self._ids[top], dtype=np.int64), scores[top].astype(np.float32, copy=False)

    # -- persistence --------------------------------------------------------------------------------

    def save(self) -> None:
        """Persist atomically: a new generation of files, then the manifest, then drop the old files."""
        with self._lock:
            kind = self._save_kind()
            if not self._dirty and self._manifest is not None and self._manifest.get("kind") == kind:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            rows = self._live_rows()
            rows = rows[np.argsort(self._ids[rows], kind="stable")]
            gen = (self._manifest or {}).get("generation", 0) + 1
            stem = self.path.name
            files = {"ids": f"{stem}.g{gen}.ids.npy", "vectors": f"{stem}.g{gen}.f32.npy"}
            base = self.path.parent
            _atomic_write_array(base / files["ids"], rows, self._ids)
            _atomic_write_array(base / files["vectors"], rows, self._vecs)
            extra = self._write_extra(kind, base, f"{stem}.g{gen}", rows)
            files.update(extra.pop("files", {}))
            sizes = {name: (base / name).stat().st_size for name in files.values()}
            manifest = {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "kind": kind,
                "dim": self.dim,
                "count": int(len(rows)),
                "embedder_id": self.embedder_id,
                "generation": gen,
                "files": files,
                "sizes": sizes,
                "vector_dtype": "float32",
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                **extra,
            }
            _atomic_write_bytes(manifest_path(self.path), json.dumps(manifest, indent=1).encode("utf-8"))
            _fsync_dir(base)
            old_files = set(((self._manifest or {}).get("files") or {}).values())
            for name in old_files - set(files.values()):
                try:
                    (base / str(name)).unlink(missing_ok=True)
                except OSError:
                    pass
            _StoredVectors._load(self, manifest)  # compacted, sorted, memory-mapped (graph kept in memory)

    def _save_kind(self) -> str:
        return self.kind

    def _write_extra(self, kind: str, base: Path, prefix: str, rows: np.ndarray) -> dict[str, Any]:
        if kind != "hnsw":
            self._graph, self._tombstones = None, 0
            return {}
        if self._graph is None or self._tombstones > max(1000, len(rows) // 5):
            # no graph yet (promotion), or many tombstones degrading it: build from the live vectors
            self._graph = _build_graph(self.dim, self._ids, self._vecs, rows, **self.params)
            self._tombstones = 0
        return _write_graph(self._graph, base, prefix)

    # -- keeping the graph in step ------------------------------------------------------------------

    def _before_add(self, ids: np.ndarray, vecs: np.ndarray, replaced: np.ndarray) -> None:
        if self._graph is None:
            return
        if len(replaced):
            self._graph.remove(replaced.astype(np.uint64))
            self._tombstones += len(replaced)
        self._graph.add(ids.astype(np.uint64), np.ascontiguousarray(vecs, dtype=np.float32),
                        threads=_add_threads(len(ids)))

    def _before_remove(self, ids: np.ndarray) -> None:
        if self._graph is None:
            return
        self._graph.remove(ids.astype(np.uint64))
        self._tombstones += len(ids)

    # -- internals --------------------------------------------------------------------------------

    def _live_rows(self) -> np.ndarray:
        if self._live is None:
            return np.arange(self._n, dtype=np.int64)
        return np.flatnonzero(self._live[:self._n]).astype(np.int64)

    def _reserve(self, need: int) -> None:
        cap = self._ids.shape[0]
        writable = isinstance(self._ids, np.ndarray) and not isinstance(self._ids, np.memmap) \
            and self._ids.flags.writeable and self._vecs.flags.writeable and not isinstance(self._vecs, np.memmap)
        if need <= cap and writable:
            return
        new_cap = max(need, int(cap * 1.5), 1024)
        ids = np.empty(new_cap, dtype=np.int64)
        ids[:self._n] = self._ids[:self._n]
        vecs = np.empty((new_cap, self.dim), dtype=np.float32)
        vecs[:self._n] = self._vecs[:self._n]
        self._ids, self._vecs = ids, vecs
        if self._live is not None:
            live = np.zeros(new_cap, dtype=bool)
            live[:self._n] = self._live[:self._n]
            self._live = live

    def _kill(self, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        if self._live is None:
            self._live = np.zeros(self._ids.shape[0], dtype=bool)
            self._live[:self._n] = True
        was = self._live[rows]
        self._live[rows] = False
        self._dead += int(was.sum())

    def _rebuild_lookup(self) -> None:
        rows = self._live_rows()
        order = np.argsort(self._ids[rows], kind="stable")
        self._sorted_rows = rows[order]
        self._sorted_ids = np.asarray(self._ids[self._sorted_rows], dtype=np.int64)
        self._sorted_upto = self._n
        self._recent = {}

    def _rows_of(self, ids: np.ndarray) -> np.ndarray:
        """Row of each live id in ``ids`` (-1 when absent or removed)."""
        if len(self._recent) > max(4096, self._n // 8):
            self._rebuild_lookup()
        rows = np.full(len(ids), -1, dtype=np.int64)
        m = len(self._sorted_ids)
        if m:
            pos = np.searchsorted(self._sorted_ids, ids)
            pos = np.minimum(pos, m - 1)
            hit = np.asarray(self._sorted_ids[pos]) == ids
            if hit.any():
                rows[hit] = pos[hit] if self._sorted_rows is None else self._sorted_rows[pos[hit]]
        if self._recent:
            get = self._recent.get
            for i, key in enumerate(ids.tolist()):
                r = get(key)
                if r is not None:
                    rows[i] = r
        if self._live is not None:
            found = rows >= 0
            if found.any():
                dead = ~self._live[rows[found]]
                idx = np.flatnonzero(found)[dead]
                rows[idx] = -1
        return rows


def _check_compatible(path: Path, m: dict[str, Any] | None, dim: int, embedder_id: str | None) -> None:
    if m is None:
        return
    stored = m.get("embedder_id")
    if embedder_id is not None and stored is not None and stored != embedder_id:
        raise ReindexRequired(
            f"vector index at {path} was built with embedder {stored!r}, the configured embedder is {embedder_id!r}",
            hint="run `medcite reindex`",
        )
    if m["dim"] != int(dim):
        raise ReindexRequired(
            f"vector index at {path} holds {m['dim']}-dimensional vectors, the embedder gives {dim}",
            hint="run `medcite reindex`",
        )


# --- exact ---------------------------------------------------------------------------------------------


class ExactIndex(_StoredVectors):
    """Brute force: one float32 matrix-vector product per query (fast enough up to ~100k vectors).

    ``promote_at``: when set (open_vector_index in "auto" mode), :meth:`save` writes an HNSW index
    instead once the count reaches it, building the graph from the stored vectors.
    """

    name = "exact"
    kind = "exact"

    def __init__(self, path: Path, dim: int, *, embedder_id: str | None = None,
                 promote_at: int | None = None) -> None:
        super().__init__(path, dim, embedder_id=embedder_id)
        self.promote_at = promote_at

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = _as_query(query, self.dim)
        with self._lock:
            return self._exact_search(q, k)

    def _save_kind(self) -> str:
        if self.promote_at is not None and len(self) >= self.promote_at and len(self) > 0:
            return "hnsw"
        return "exact"


# --- HNSW (usearch) --------------------------------------------------------------------------------------


def _usearch() -> Any:
    # ONNX Runtime must be loaded before usearch: the other way round, `import onnxruntime` crashes the process
    # (a segmentation fault in its native library, seen with onnxruntime 1.32 and usearch 2.26 on Linux x86_64),
    # and every process that searches vectors also runs an ONNX model (the query embedder, the answer model)
    try:
        from medcite.index.embedders import onnxruntime

        onnxruntime()
    except ImportError:  # no ONNX Runtime, no crash to avoid
        pass
    try:
        from usearch.index import Index  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ConfigError(
            "the HNSW vector index needs the usearch package, which is not installed",
            hint=f"pip install {USEARCH_PIN}  (or use the exact index: vector index kind = exact)",
        ) from exc
    return Index


def _new_graph(dim: int, connectivity: int = HNSW_CONNECTIVITY, expansion_add: int = HNSW_EXPANSION_ADD,
               expansion_search: int = HNSW_EXPANSION_SEARCH) -> Any:
    Index = _usearch()
    return Index(ndim=dim, metric="cos", dtype="i8", connectivity=connectivity,
                 expansion_add=expansion_add, expansion_search=expansion_search, multi=False)


#: below this many vectors a graph insertion runs on one thread: the graph then depends only on the
#: insertion order, so the same vectors always give the same graph and the same search results (with
#: several threads the order of concurrent insertions, hence the neighbour lists, varied from run to run)
DETERMINISTIC_ADD = 20_000


def _add_threads(n: int) -> int:
    return 1 if n < DETERMINISTIC_ADD else 0  # 0: every core


def _build_graph(dim: int, ids: np.ndarray, vecs: np.ndarray, rows: np.ndarray, chunk: int = 100_000,
                 **params: int) -> Any:
    graph = _new_graph(dim, **params)
    if len(rows):
        for start in range(0, len(rows), chunk):
            sel = rows[start:start + chunk]
            graph.add(np.asarray(ids[sel]).astype(np.uint64), np.ascontiguousarray(vecs[sel], dtype=np.float32),
                      threads=_add_threads(len(sel)))
    return graph


def _write_graph(graph: Any, base: Path, prefix: str) -> dict[str, Any]:
    name = f"{prefix}.hnsw"
    target = base / name
    tmp = _tmp_name(target)
    try:
        graph.save(str(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return {
        "files": {"graph": name},
        "hnsw": {"library": USEARCH_PIN, "metric": "cos", "dtype": "i8",
                 "connectivity": int(graph.connectivity), "expansion_add": int(graph.expansion_add),
                 "expansion_search": int(graph.expansion_search)},
    }


class HnswIndex(_StoredVectors):
    """usearch HNSW over int8-quantised vectors; candidates are rescored exactly with the float32 copy.

    A search asks the graph for ``max(k * 8, 80)`` candidates and returns the best k by exact cosine,
    so the int8 quantisation costs (almost) no ranking quality.
    """

    name = "hnsw"
    kind = "hnsw"

    def __init__(self, path: Path, dim: int, *, embedder_id: str | None = None,
                 connectivity: int = HNSW_CONNECTIVITY, expansion_add: int = HNSW_EXPANSION_ADD,
                 expansion_search: int = HNSW_EXPANSION_SEARCH, mmap: bool = False) -> None:
        _usearch()  # fail early, naming the package to install
        super().__init__(path, dim, embedder_id=embedder_id)
        self.params = {"connectivity": int(connectivity), "expansion_add": int(expansion_add),
                       "expansion_search": int(expansion_search)}
        self._graph = _new_graph(self.dim, **self.params)
        # mmap: a saved graph is memory-mapped from its file (usearch `view`) instead of read into memory;
        # the mapped graph is read-only, so the first add or remove reads it into memory first
        self.mmap = bool(mmap)
        self.graph_mapped = False

    def _load(self, m: dict[str, Any]) -> None:
        super()._load(m)
        gname = m["files"].get("graph")
        count = m["count"]
        if m["kind"] != "hnsw" or not gname:
            # an exact index (or one whose graph was never built): build the graph from the vectors
            self._graph = _build_graph(self.dim, self._ids, self._vecs, np.arange(count), **self.params)
            self._tombstones = 0
            self._dirty = True
            return
        gpath = self.path.parent / str(gname)
        if not gpath.is_file():
            raise IndexMissingError(f"vector index at {self.path} is corrupt ({gname} is missing)", hint=_REBUILD_HINT)
        expect = (m.get("sizes") or {}).get(gname)
        if expect is not None and gpath.stat().st_size != expect:
            raise _corrupt(self.path, f"{gname} has {gpath.stat().st_size} bytes, the manifest says {expect}")
        graph = _new_graph(self.dim, **self.params)
        try:
            if self.mmap:
                graph.view(str(gpath))
            else:
                graph.load(str(gpath))
            deleted = int(_usearch().metadata(str(gpath)).get("count_deleted", 0))
        except Exception as exc:  # usearch raises RuntimeError/ValueError on a damaged file
            raise _corrupt(self.path, f"{gname} cannot be read: {exc}") from exc
        if graph.ndim != self.dim or len(graph) != count:
            raise _corrupt(self.path, f"{gname} holds {len(graph)} vectors of dimension {graph.ndim}, "
                                      f"expected {count} of dimension {self.dim}")
        graph.expansion_search = self.params["expansion_search"]
        self._graph = graph
        self._graph_file = gpath
        self.graph_mapped = self.mmap
        self._tombstones = deleted

    def _writable_graph(self) -> None:
        """Read a memory-mapped graph into memory (a mapped one cannot be changed)."""
        if not self.graph_mapped:
            return
        graph = _new_graph(self.dim, **self.params)
        graph.load(str(self._graph_file))
        graph.expansion_search = self.params["expansion_search"]
        self._graph, self.graph_mapped = graph, False

    def _before_add(self, ids: np.ndarray, vecs: np.ndarray, replaced: np.ndarray) -> None:
        self._writable_graph()
        super()._before_add(ids, vecs, replaced)

    def _before_remove(self, ids: np.ndarray) -> None:
        self._writable_graph()
        super()._before_remove(ids)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = _as_query(query, self.dim)
        k = int(k)
        with self._lock:
            live = len(self)
            k = min(k, live)
            if k <= 0:
                return _EMPTY_IDS, _EMPTY_SCORES
            want = max(k * HNSW_OVERSAMPLE, HNSW_MIN_CANDIDATES)
            if want >= live:  # small index: the exact scan is cheaper and perfect
                return self._exact_search(q, k)
            matches = self._graph.search(q, want, threads=1)
            keys = np.asarray(matches.keys, dtype=np.uint64).astype(np.int64)
            rows = self._rows_of(keys)
            ok = rows >= 0
            keys, rows = keys[ok], rows[ok]
            if len(rows) == 0:
                return _EMPTY_IDS, _EMPTY_SCORES
            order = np.argsort(rows)  # ascending rows: friendlier to the memory map
            keys, rows = keys[order], rows[order]
            scores = np.asarray(self._vecs[rows], dtype=np.float32) @ q
            top = _top_k(scores, k)
            return keys[top], scores[top].astype(np.float32, copy=False)


# --- choosing ---------------------------------------------------------------------------------------------


def open_vector_index(path: Path, dim: int, kind: str = "auto", ann_threshold: int = 100_000, *,
                      embedder_id: str | None = None, mmap: bool = False,
                      **hnsw_params: int) -> ExactIndex | HnswIndex:
    """Open (or create empty) the vector index at ``path``.

    kind: "exact", "hnsw" or "auto" — exact below ``ann_threshold`` vectors, HNSW at or above it
    (by the count in the manifest; an HNSW index stays HNSW until its count drops below half the
    threshold). In auto mode an exact index promotes itself to HNSW on save once it crosses the
    threshold. ``embedder_id``: when given and the stored index was built by another embedder,
    raise ReindexRequired. ``mmap``: an HNSW graph is memory-mapped from its file instead of read
    into memory (the float32 vectors always are).
    """
    path = Path(path)
    if kind not in ("auto", "exact", "hnsw"):
        raise ConfigError(f"unknown vector index kind {kind!r}", hint="use auto, exact or hnsw")
    m = read_manifest(path)
    _check_compatible(path, m, dim, embedder_id)
    chosen = kind
    if kind == "auto":
        count = m["count"] if m else 0
        stored = m["kind"] if m else "exact"
        if count >= ann_threshold or (stored == "hnsw" and count >= ann_threshold // 2):
            chosen = "hnsw"
        else:
            chosen = "exact"
    if chosen == "hnsw":
        return HnswIndex.open(path, dim, embedder_id=embedder_id, mmap=mmap,  # type: ignore[return-value]
                              **hnsw_params)
    promote = ann_threshold if kind == "auto" else None
    return ExactIndex.open(path, dim, embedder_id=embedder_id, promote_at=promote)  # type: ignore[return-value]
