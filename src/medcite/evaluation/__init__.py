"""Evaluation harnesses: retrieval (BioASQ, PubMedQA), answers, LLM benchmarks."""
