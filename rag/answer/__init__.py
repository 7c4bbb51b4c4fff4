"""From a question to an answer: the question read once (`Query`), search, signals, the ranker, the reader, results.

Reads the index through `rag.index.protocols.ReadableStore`; imports nothing of the application above it.
"""
