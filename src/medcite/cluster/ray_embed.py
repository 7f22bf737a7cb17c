"""Embedding passage batches on Ray workers; the vectors come back to the one writer of the vector index.

Each worker is a Ray actor holding one embedder with one ONNX Runtime thread (a worker per CPU, not threads
fighting over cores). The driver prepares the ONNX model once and ships its files through Ray's object store,
so a worker machine needs neither the model package nor a model cache: the workers run the very bytes the
driver would, and the index they feed is the one a plain ``medcite embed`` writes (same ids, same batches;
cosine ≥ 0.999 per passage). With ``ray_gpus_per_worker`` > 0 a worker asks Ray for a GPU and runs ONNX
Runtime's CUDA provider where its onnxruntime has one (the ``onnxruntime-gpu`` build), else its CPU.

Batches go to the workers in turn, ``2 × workers`` at most in flight, and are read back in order.
"""

from __future__ import annotations

import tempfile
from collections import deque
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from medcite.errors import EmbeddingError

def recipe(embedder: Any, settings: Any) -> dict[str, Any]:
    """What a worker needs to build the same embedder: the ONNX model's files and shape, or the settings."""
    from medcite.index.embedders import OnnxEmbedder

    if isinstance(embedder, OnnxEmbedder):
        quantize = "-int8" in embedder.id
        fname = "model.int8.onnx" if quantize else "model.fp32.onnx"
        folder = Path(embedder.model_dir)
        # the files embedders.prepare_model writes; a folder holding them is taken as prepared
        files = {name: (folder / name).read_bytes() for name in ("tokenizer.json", f"{fname}.json", fname)}
        return {"kind": "onnx", "files": files, "max_length": embedder.max_length,
                "batch_size": embedder.batch_size, "quantize": quantize, "id": embedder.id}
    return {"kind": "settings", "settings": settings.model_copy(update={"embed_threads": 1}), "id": embedder.id}


class EmbedWorker:
    """A Ray actor: one embedder, one thread, built from a :func:`recipe`."""

    def __init__(self, spec: dict[str, Any], gpus: float = 0.0) -> None:
        if spec["kind"] == "onnx":
            from medcite.index.embedders import OnnxEmbedder, onnxruntime

            self._folder = tempfile.TemporaryDirectory(prefix="medcite-model-")
            for name, data in spec["files"].items():
                (Path(self._folder.name) / name).write_bytes(data)
            providers = ["CPUExecutionProvider"]
            if gpus and "CUDAExecutionProvider" in onnxruntime().get_available_providers():
                providers.insert(0, "CUDAExecutionProvider")
            self.embedder: Any = OnnxEmbedder(Path(self._folder.name), max_length=spec["max_length"],
                                              batch_size=spec["batch_size"], threads=1, quantize=spec["quantize"],
                                              providers=providers)
            self.providers = providers
        else:
            from medcite.index.registry import make_embedder

            self.embedder = make_embedder(spec["settings"])
            self.providers = []
        if self.embedder.id != spec["id"]:
            raise EmbeddingError(f"a Ray worker built embedder {self.embedder.id}, the driver has {spec['id']}",
                                 hint="install the same medcite version on every Ray machine")

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed(texts)

    def info(self) -> dict[str, Any]:
        return {"id": self.embedder.id, "providers": self.providers}


class RayEmbedMap:
    """An :data:`~medcite.index.dense.EmbedMap` running ``workers`` :class:`EmbedWorker` actors."""

    def __init__(self, ray: Any, embedder: Any, settings: Any, workers: int, gpus_per_worker: float = 0.0) -> None:
        self.ray = ray
        spec = ray.put(recipe(embedder, settings))
        actor = ray.remote(EmbedWorker).options(num_cpus=1, num_gpus=gpus_per_worker or 0, max_restarts=0)
        self.workers = [actor.remote(spec, gpus_per_worker) for _ in range(max(1, workers))]
        self.window = 2 * len(self.workers)

    def __call__(self, batches: Iterator[tuple[list[int], list[str]]]) -> Iterator[tuple[list[int], np.ndarray]]:
        ray = self.ray
        inflight: deque[tuple[list[int], Any]] = deque()
        try:
            for n, (ids, texts) in enumerate(batches):
                inflight.append((ids, self.workers[n % len(self.workers)].embed.remote(texts)))
                if len(inflight) >= self.window:
                    yield self._result(*inflight.popleft())
            while inflight:
                yield self._result(*inflight.popleft())
        finally:
            for _, ref in inflight:
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 — cancelling is best effort
                    pass
            self.close()  # one map, one run: the workers' CPUs go back to the cluster

    def _result(self, ids: list[int], ref: Any) -> tuple[list[int], np.ndarray]:
        try:
            return ids, self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            raise EmbeddingError(f"a Ray embedding worker failed: {exc}",
                                 hint="run `medcite embed --ray` again: what was embedded is saved") from exc

    def close(self) -> None:
        """End the workers (their model copies and memory)."""
        for worker in self.workers:
            self.ray.kill(worker)
        self.workers = []
