"""Retrieval: query analysis, lexical + dense runs, fusion, evidence-aware rerank."""
