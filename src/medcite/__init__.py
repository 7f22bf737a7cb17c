"""medcite — an offline-first clinical evidence engine.

Ingest a medical corpus you own, search it, and answer clinical questions with
verified, sentence-level citations.
"""

__version__ = "0.1.0"
