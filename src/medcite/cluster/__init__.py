"""Ray, for what outgrows one machine (optional: ``pip install 'medcite[ray]'``).

Parsing and embedding move to Ray workers; storing stays in this process, the one writer of the SQLite store
and of the vector index::

    medcite ingest --ray ─┐                         ┌─ parse a group of files (ray_ingest.parse_group)
                          ├── driver: one writer ───┤   … streamed back in file order
    medcite embed --ray ──┘   (store, vectors)      └─ embed a batch of passages (ray_embed.EmbedWorker)

* :mod:`medcite.cluster.runtime` starts a local Ray cluster or joins one (``ray_address``) and says which extra
  to install when ``ray`` is missing;
* :mod:`medcite.cluster.ray_ingest` is a :data:`~medcite.ingest.pipeline.ParseSource`;
* :mod:`medcite.cluster.ray_embed` is an :data:`~medcite.index.dense.EmbedMap`.

Nothing here is imported unless ``--ray`` is given (``ray`` takes seconds to import).
"""
