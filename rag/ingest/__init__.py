"""From files to documents: the readers, the corpus scanned into articles, passages and sentences, files added.

Imports nothing of the index, the answers or the application above it.
"""
