"""Answers: composers (extractive, LLM), citations, evidence grading, rendering."""
