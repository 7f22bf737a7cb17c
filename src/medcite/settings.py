"""medcite's configuration: one :class:`Settings` object, passed explicitly.

Precedence (lowest to highest): defaults < ``medcite.toml`` (in the working directory, or the file
named by ``MEDCITE_CONFIG``) < ``MEDCITE_*`` environment variables < command-line flags.
Nothing else in medcite reads ``os.environ``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


def _default_config_file() -> Path:
    return Path(os.environ.get("MEDCITE_CONFIG", "medcite.toml"))


def embed_threads_for(workers: int) -> int:
    """Embedding threads per worker process, so that N workers do not oversubscribe the cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


class Settings(BaseSettings):
    """Every setting medcite has. Each is documented in docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="MEDCITE_", extra="ignore", validate_default=True, populate_by_name=True
    )

    db: Path = Field(Path("medcite.db"), description="Path of the SQLite evidence store (one file).")
    database_url: str | None = Field(
        None,
        description="Database for accounts and articles: a `postgresql://…` URL for multi-user servers; "
        "default: the evidence store's SQLite file.",
    )
    shared_dir: Path = Field(
        Path("../shared"), description="Folder holding the shared corpus and evaluation sets (read-only)."
    )
    corpus_dir: Path | None = Field(
        None, description="Corpus folder the demo ingests; defaults to `<shared_dir>/corpus`."
    )
    cache_dir: Path | None = Field(
        None, description="Where prepared models and evaluation indexes are cached; defaults to the user cache dir."
    )
    store_busy_timeout: float = Field(
        30.0, ge=0,
        description="Seconds a write (an ingest, embed or edit) waits while another process writes to the store; "
        "past it the command stops with one line naming that process, keeping everything stored before.",
    )
    search_k: int = Field(10, ge=1, le=1000, description="Default number of search hits.")
    max_query_chars: int = Field(
        20000, ge=100, description="Longest question or query accepted; longer text is truncated to its first terms."
    )
    progress: bool = Field(True, description="Show progress: bars on a terminal, a plain line every few seconds "
                           "otherwise (a log, CI).")
    max_question_chars: int = Field(
        2000, ge=50, description="Longest question `medcite ask` accepts; longer input gets a clear error."
    )
    query_expansion: bool = Field(
        True, description="Expand abbreviations, synonyms and brand names (MeSH, drug names) in queries."
    )
    patient_reading: str = Field(
        "balanced", pattern="^(balanced|strict)$",
        description="Patient answers: balanced (prefer easy sentences, but quote the one hard sentence that "
        "answers) or strict (never quote a sentence above reading grade 12, and prefer easy ones strongly: "
        "Flesch-Kincaid about 7 instead of 8.5-9.5, at the cost of most patient key facts and more "
        "'insufficient evidence').",
    )
    composer: str = Field(
        "rules", pattern="^(model|rules)$",
        description="How extractive answers pick their sentences: model (the shipped answer model ranks candidate "
        "sentences and decides whether the corpus answers at all; docs/composer.md) or rules (the older "
        "word-cover rules, kept for comparison).",
    )
    safety_routing: bool = Field(
        True,
        description="With composer = rules, send questions whose wrong answer can harm (may one take it: "
        "contraindications; with what: interactions) and questions that ask for a list (side effects, warning "
        "signs, symptoms) to the model composer, which reads the sections that answer them and abstains when "
        "none does.",
    )
    routed_types: str = Field(
        "contraindication,interaction",
        description="With safety_routing: the question types (comma-separated names from medcite.answer.qtypes: "
        "contraindication, interaction, treatment, dose, pregnancy_lactation, adverse_effects, screening, "
        "symptoms, cause, inheritance, prevention, diagnosis, prognosis) whose questions go to the "
        "model composer; questions that ask for a list always do.",
    )
    routed_candidates: int = Field(
        16, ge=4, le=64,
        description="How many candidate sentences the answer model scores for a question routed to it by "
        "safety_routing: up to half from the sections that answer the question's type, the rest by word cover (the "
        "model composer itself scores 32). Scoring is most of a routed "
        "answer's cost: 16 halves it, for two bottom lines and two false abstentions in 405 held-out answerable "
        "questions (docs/evaluation.md).",
    )
    @field_validator("routed_types")
    @classmethod
    def _known_question_types(cls, value: str) -> str:
        """Every name must be a question type medcite knows (medcite.answer.qtypes), so a typo is an error, not a
        routing that silently never happens."""
        from medcite.answer.qtypes import BY_NAME

        unknown = [t for t in (x.strip() for x in value.split(",")) if t and t not in BY_NAME]
        if unknown:
            raise ValueError(f"unknown question type(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
        return value

    drug_coverage: bool = Field(
        True,
        description="When a question names two or more drugs (\"Plavix\" and \"Viagra\"), answer only from documents "
        "that name each of them (by the question's word or its generic name); otherwise the answer is "
        "'insufficient evidence' for the drug none of them names (docs/composer.md).",
    )
    quote_formats: str = Field(
        "pubmed,jats,medquad,ngc,spl,jsonl",
        description="Document formats (comma-separated parser names) whose passages answers may quote; documents "
        "read by any other parser are listed as related reading only, never quoted. Default: every format "
        "medcite ships.",
    )
    quote_kinds: str = Field(
        "", description="Document kinds (comma-separated, e.g. `guideline,drug_label,systematic_review`) whose "
        "passages answers may quote; other documents are related reading only. Empty (the default): every kind.",
    )
    answer_model_dir: Path | None = Field(
        None, description="Folder holding answer-model.int8.onnx, answer-tokenizer.json and answer-model.json "
        "(default: the model shipped inside the medcite package). Without the files, the bundled bi-encoder "
        "ranks sentences instead, with a warning.",
    )
    answer_semantic: bool = Field(
        False,
        description="Let the extractive composer also judge candidate sentences by meaning (embedding similarity "
        "to the question, with the configured embedder; not with embedder none or hashing). Better answers on "
        "held-out questions for about 175 ms of CPU per answer; whether a question is answered at all is still "
        "decided on its words.",
    )

    lexical_engine: str = Field(
        "tantivy",
        pattern="^(tantivy|fts5)$",
        description="Lexical search engine: tantivy (an index folder beside the store, kept in step with it; "
        "p95 ≈ 5 ms at 1M passages) or fts5 (SQLite's own index, no extra files). Falls back to fts5 when "
        "tantivy is not installed.",
    )

    # --- ingest caps (a file over one gets one error line; the rest of the folder is still ingested) ----
    ingest_max_file_bytes: int = Field(
        2 * 1024**3, ge=1024,
        description="Largest file ingest reads, in bytes after decompression (a .gz is counted as it inflates, so a "
        "gzip bomb stops here). Default 2 GiB, about ten times a PubMed baseline file.",
    )
    ingest_max_record_bytes: int = Field(
        32 * 1024**2, ge=1024,
        description="Largest single record held in memory, in bytes: one JSON line, one PubMed article, a whole .json "
        "array, or a whole JATS, MedQuAD, NGC or SPL file. Default 32 MiB (largest in the shared corpus: 0.3 MB).",
    )
    ingest_max_document_chars: int = Field(
        5_000_000, ge=1000,
        description="Most characters one document may have (all sections together); a larger one is skipped with "
        "an error line. Default 5 million (shared corpus: 113,000).",
    )
    ingest_max_section_chars: int = Field(
        1_000_000, ge=1000,
        description="Most characters one section may have; a document with a larger one is skipped with an error "
        "line. Default 1 million (shared corpus: 94,000).",
    )
    ingest_max_sections: int = Field(
        2000, ge=1,
        description="Most sections one document may have; a document with more is skipped with an error line. "
        "Default 2,000 (shared corpus: 71).",
    )

    # --- dense retrieval --------------------------------------------------------------------
    embedder: str = Field(
        "onnx-minilm",
        description="Embedding backend: onnx-minilm (bundled, offline), openai (any /v1/embeddings server), "
        "hashing (tiny, for tests) or none (lexical search only).",
    )
    embed_threads: int = Field(
        0, ge=0,
        description="Threads one ONNX embedding call may use (0: every core). `medcite serve --workers N` gives "
        "each worker cores ÷ N unless this is set, so workers do not compete for the same cores.",
    )
    embed_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible embeddings server.")
    embed_model: str | None = Field(None, description="Model name for the embeddings server.")
    embed_api_key: SecretStr | None = Field(None, description="API key for the embeddings server; never logged.")
    vector_index: str = Field(
        "auto", pattern="^(auto|exact|hnsw)$",
        description="Vector index: exact search, HNSW (int8 + rescoring), or auto (HNSW from ann_threshold vectors).",
    )
    ann_threshold: int = Field(100_000, ge=1000, description="Vector count from which `auto` switches to HNSW.")
    vector_mmap: bool = Field(
        False,
        description="Memory-map the HNSW graph from its file (usearch `view`) instead of reading it into memory: "
        "a 10M-passage index opens in milliseconds and its pages are shared by every process on the machine. "
        "The float32 vectors are always memory-mapped.",
    )

    # --- Ray (optional: pip install 'medcite[ray]'; docs/deployment.md) ----------------------
    ray_address: str | None = Field(
        None,
        description="Ray cluster that `medcite ingest --ray` and `medcite embed --ray` use: the head's "
        "`HOST:6379` (`auto` on a machine of the cluster); unset: a local Ray cluster is started on this machine.",
    )
    ray_workers: int = Field(
        0, ge=0,
        description="Ray workers: files parsed at once, embedding workers (one ONNX thread each); 0: one per CPU "
        "the cluster has. A local cluster is started with this many CPUs (0: every core).",
    )
    ray_gpus_per_worker: float = Field(
        0.0, ge=0,
        description="GPUs each Ray embedding worker asks for; above 0 the worker embeds with ONNX Runtime's CUDA "
        "provider where its onnxruntime has one (onnxruntime-gpu), else on its CPU.",
    )

    # --- LLM (optional upgrade; any OpenAI-compatible server) -------------------------------
    llm_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("llm_base_url", "MEDCITE_LLM_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (OPENAI_BASE_URL when unset).",
    )
    llm_model: str | None = Field(
        None, validation_alias=AliasChoices("llm_model", "MEDCITE_LLM_MODEL"), description="Model name the server serves."
    )
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("llm_api_key", "MEDCITE_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key for the LLM server (OPENAI_API_KEY when unset); never logged.",
    )
    llm_default: bool = Field(False, description="Compose answers with the LLM by default (`ask --llm`).")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds to wait for the LLM server per request.")
    llm_max_retries: int = Field(3, ge=0, le=10, description="Retries on 429/5xx/timeouts, with backoff.")
    llm_phi: str = Field(
        "refuse",
        pattern="^(redact|refuse|off)$",
        description="PHI guard for LLM endpoints off this machine: refuse (the default: the error shows the question "
                    "with its identifiers replaced), redact (send it so), or off.",
    )
    llm_unsupported: str = Field(
        "drop",
        pattern="^(drop|flag)$",
        description="What to do with LLM statements their cited passages do not support: drop or flag.",
    )

    # --- web ----------------------------------------------------------------------------------
    web_max_body_bytes: int = Field(65536, ge=1024, description="Largest request body accepted; larger gets 413.")
    web_ask_rate_per_minute: float = Field(
        30.0, ge=0, description="Questions per minute per client IP (token-bucket refill); 0 turns limiting off."
    )
    web_ask_burst: int = Field(10, ge=1, description="Token-bucket size: questions a client may ask at once.")
    web_session_ttl_s: int = Field(28800, ge=60, description="Lifetime of a web sign-in session in seconds.")
    web_service_pool: int = Field(
        2, ge=1, le=64, description="Evidence-store connections per worker process (questions answered at once)."
    )
    web_max_field_chars: int = Field(20000, ge=100, description="Longest form field accepted (400 above it).")
    web_header_timeout: float = Field(
        10.0, gt=0, description="Seconds a client has to send a request's head (line and headers) once it "
                                "connects or starts its next request; slower connections are closed."
    )
    web_body_timeout: float = Field(
        30.0, gt=0, description="Seconds a client has to send a request's body once its head is in; slower "
                                "ones get 408 and the connection is closed."
    )
    web_trusted_proxies: str = Field(
        "", description="Reverse proxies (comma-separated IPs or CIDRs) whose X-Forwarded-For / -Proto are "
                        "trusted for the client address (rate limits, sign-in throttling) and the scheme; "
                        "empty (the default): trust none, the connection's own address counts."
    )

    # --- sync (`medcite sync pubmed`) ----------------------------------------------------------
    sync_pubmed_url: str = Field(
        "https://ftp.ncbi.nlm.nih.gov/",
        description="Base URL of the PubMed mirror `medcite sync pubmed` reads: it holds pubmed/baseline/ and "
        "pubmed/updatefiles/ in NLM's layout (directory listings of .xml.gz files, each with its .md5).",
    )
    sync_download_dir: Path | None = Field(
        None, description="Where `medcite sync` downloads files; defaults to `<db>.downloads/` beside the store.",
    )
    sync_keep_downloads: bool = Field(
        False, description="Keep downloaded files after they are ingested (by default each is deleted once ingested "
        "and recorded in the store; the full baseline is tens of gigabytes).",
    )
    sync_timeout: float = Field(60.0, gt=0, description="Seconds `medcite sync` waits for a server per request.")
    sync_tries: int = Field(
        4, ge=1, le=10, description="Attempts per request or download on a dropped connection, 429, 5xx or a wrong "
        "MD5, with exponential backoff between them.",
    )
    sync_backoff: float = Field(
        1.0, ge=0, description="Seconds before the first retry of `medcite sync`; doubled before each next one "
        "(a server's Retry-After, up to 60 s, wins).",
    )
    eutils_url: str = Field(
        "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/",
        description="Base URL of NCBI E-utilities (esearch.fcgi, efetch.fcgi) for `medcite sync pubmed --query`.",
    )
    eutils_api_key: SecretStr | None = Field(
        None, description="NCBI API key for E-utilities: allows 10 requests/s instead of 3; never logged.",
    )

    # retrieval weights are added by later stages through these generic fields
    lexical_title_weight: float = Field(2.5, ge=0, description="BM25 weight of the document title column.")
    lexical_heading_weight: float = Field(1.0, ge=0, description="BM25 weight of the section heading column.")
    lexical_text_weight: float = Field(1.0, ge=0, description="BM25 weight of the passage text column.")
    tantivy_title_weight: float = Field(
        0.5, ge=0,
        description="Boost of the title field with the tantivy engine. tantivy scores each field with its own BM25 "
        "and length norm, so a word in a short title already scores high; 0.5 measured best (docs/lexical-engine.md).",
    )
    tantivy_heading_weight: float = Field(0.2, ge=0, description="Boost of the section heading field with tantivy.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_default_config_file())
        return (init_settings, env_settings, toml)

    @property
    def corpus(self) -> Path:
        return self.corpus_dir or (self.shared_dir / "corpus")

    @property
    def cache(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("medcite"))


def load_settings(**overrides: Any) -> Settings:
    """Build settings; ``overrides`` (CLI flags) win, ``None`` values are ignored."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
