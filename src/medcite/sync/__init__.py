"""Keep the store in step with a remote source: PubMed's baseline and update files, or one E-utilities search.

``pubmed`` mirrors NLM's files (list, download, verify MD5, ingest in order, remember each finished file in the
store's ``sync_files`` table); ``eutils`` ingests the records one search finds; ``http`` is the retrying, paced
HTTP client both use. The service (:meth:`medcite.service.Medcite.sync_pubmed`) wires them to the ingest pipeline.
"""

from medcite.sync.report import FileResult, SyncReport, SyncStep

__all__ = ["FileResult", "SyncReport", "SyncStep"]
