"""From documents to an index: the manifest every backend keeps, embedding, the keyword index, the indexer.

One package per backend: `faiss/` (a folder of generations) and `milvus/`. Imports `ingest`, never `answer`
or the application.
"""
