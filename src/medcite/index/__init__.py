"""Indexes over the store's passages: lexical (FTS5) and vector."""
