"""The exception tree of medcite.

Every error medcite raises on purpose derives from :class:`MedciteError`, so a
face (CLI, web) can map it once to a message and an exit code / HTTP status::

    MedciteError
    ├── ConfigError            bad setting, unknown backend name, missing extra
    ├── StoreError             database cannot be opened / is from a newer version
    │   └── ReindexRequired    parser, chunker or embedder changed: run `medcite reindex`
    ├── IngestError            a file could not be ingested
    │   ├── UnknownFormatError no parser recognises the file
    │   └── ParseError         the file (or one record of it) is malformed
    ├── SyncError              a remote source (PubMed files, E-utilities) could not be fetched or verified
    ├── QueryError             a question or query that cannot be processed
    ├── EmbeddingError         the embedding model or server failed
    ├── IndexMissingError      the vector index is missing or corrupt
    ├── EvalError              an evaluation file is malformed
    ├── LLMError               the chat model server failed
    ├── PHIError               a question carries protected health information
    ├── InvalidInput           input too large, too deep or not of the documented shape (HTTP 422)
    └── ReviewError            an editorial action is not allowed
        ├── NotFound
        ├── PermissionDenied
        ├── Conflict
        └── CitationError      an edited text's markers do not match its references (HTTP 422)

Messages say what went wrong *and* how to fix it.
"""

from __future__ import annotations


class MedciteError(Exception):
    """Base class of every error medcite raises on purpose."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class ConfigError(MedciteError):
    exit_code = 2
    http_status = 500


class StoreError(MedciteError):
    pass


class ReindexRequired(StoreError):
    exit_code = 3
    http_status = 409


class IngestError(MedciteError):
    """A file could not be ingested. ``path`` and ``location`` say where."""

    def __init__(self, message: str, *, path: str = "", location: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.location = location

    def line(self) -> str:
        """One clear line: file, what is wrong, where."""
        where = f" ({self.location})" if self.location else ""
        head = f"{self.path}: " if self.path else ""
        tail = f" — {self.hint}" if self.hint else ""
        return f"{head}{self.message}{where}{tail}"


class UnknownFormatError(IngestError):
    pass


class ParseError(IngestError):
    pass


class SyncError(MedciteError):
    """A remote file or listing could not be fetched or verified (after retries). ``file`` names it."""

    def __init__(self, message: str, *, file: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.file = file


class QueryError(MedciteError):
    exit_code = 2
    http_status = 400


class EmbeddingError(MedciteError):
    pass


class IndexMissingError(MedciteError):
    http_status = 503


class EvalError(MedciteError):
    exit_code = 2
    http_status = 400


class LLMError(MedciteError):
    http_status = 502


class PHIError(MedciteError):
    exit_code = 2
    http_status = 422


class InvalidInput(MedciteError):
    exit_code = 2
    http_status = 422


class ReviewError(MedciteError):
    http_status = 400


class NotFound(ReviewError):
    http_status = 404


class PermissionDenied(ReviewError):
    http_status = 403


class Conflict(ReviewError):
    http_status = 409


class CitationError(ReviewError):
    """An edited article cites a reference it does not have, or has references and cites none: a rule across
    fields of a well-formed Answer, which no JSON Schema can state."""

    http_status = 422
