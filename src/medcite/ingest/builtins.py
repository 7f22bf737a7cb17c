"""Registers medcite's built-in parsers, most specific first (detection tries them in this order)."""

from __future__ import annotations

from medcite.ingest.base import register

from medcite.ingest import pubmed, jats, medquad, ngc, spl, jsonl  # noqa: E402

register("pubmed", pubmed.PubMedParser)
register("jats", jats.JatsParser)
register("medquad", medquad.MedQuADParser)
register("ngc", ngc.NGCParser)
register("spl", spl.SPLParser)
register("jsonl", jsonl.JsonlParser)
