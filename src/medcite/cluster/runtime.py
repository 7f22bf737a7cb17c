"""Starting or joining a Ray cluster for one medcite command."""

from __future__ import annotations

import os
from typing import Any

from medcite.errors import ConfigError

#: the ``ray`` extra of pyproject.toml (ray's minimal install: no dashboard, no ray[default])
RAY_EXTRA = "pip install 'medcite[ray]'"

#: object store of a local cluster: enough for the files and batches in flight, far below the default 30 % of RAM
LOCAL_OBJECT_STORE_BYTES = 1024 * 1024 * 1024


def import_ray() -> Any:
    """``import ray``, or a ConfigError naming the extra to install."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("--ray needs the ray package, which is not installed",
                          hint=f"{RAY_EXTRA} (on this machine and on every Ray worker)") from exc
    return ray


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast when nothing listens at ``HOST:PORT`` (``ray.init`` would retry for minutes)."""
    import socket

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or an address Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {host}:{port} ({exc.strerror or exc})") from None


class RayCluster:
    """A Ray cluster this process is connected to: a local one it started (``address`` None) or a running one.

    ``workers`` (0: one per CPU of the cluster) bounds the files parsed at once and the embedding workers.
    """

    def __init__(self, address: str | None = None, workers: int = 0, gpus_per_worker: float = 0.0) -> None:
        self.ray = ray = import_ray()
        self.address = address
        self.gpus_per_worker = gpus_per_worker
        self._started = False
        if not ray.is_initialized():
            common = {"log_to_driver": False, "configure_logging": False}
            try:
                if address:
                    _check_reachable(address)
                    ray.init(address=address, **common)
                else:  # a fresh cluster on this machine, loopback only, even when RAY_ADDRESS names another
                    ray.init(address="local", num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
                             object_store_memory=LOCAL_OBJECT_STORE_BYTES, **common)
            except (ConnectionError, TimeoutError, ValueError, RuntimeError, ray.exceptions.RayError) as exc:
                where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
                hint = ("start the head with `ray start --head`, check the address (HOST:6379, or auto on the head "
                        "itself) and the cluster's token (~/.ray/auth_token; docs/deployment.md), or leave out "
                        "--ray-address to start a local cluster") if address else \
                    "see the lines above; `ray stop` ends a cluster left over from an earlier run"
                raise ConfigError(f"cannot start or reach {where}: {exc}", hint=hint) from exc
            self._started = True
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))

    def parse_source(self, limits: Any) -> Any:
        """A :data:`~medcite.ingest.pipeline.ParseSource` parsing files on this cluster's workers."""
        from medcite.cluster.ray_ingest import RayParseSource

        return RayParseSource(self.ray, limits, self.workers)

    def embed_map(self, embedder: Any, settings: Any) -> Any:
        """An :data:`~medcite.index.dense.EmbedMap` embedding batches on this cluster's workers."""
        from medcite.cluster.ray_embed import RayEmbedMap

        return RayEmbedMap(self.ray, embedder, settings, self.workers, self.gpus_per_worker)

    def shutdown(self) -> None:
        """Leave the cluster; a local one this process started stops."""
        if self._started:
            self.ray.shutdown()
            self._started = False
