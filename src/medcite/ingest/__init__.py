"""Ingestion: one parser per format, format detection, the ingest pipeline."""
