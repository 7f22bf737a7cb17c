"""Optional chat-model plumbing: an OpenAI-compatible client (:mod:`medcite.llm.client`) and the PHI
guard that runs before a question leaves the machine (:mod:`medcite.llm.phi`).

Nothing here is needed for the extractive composer; medcite works fully offline without an LLM.
"""
