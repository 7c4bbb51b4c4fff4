"""The FAISS backend: a folder of generations, read by `reader.Store`, written by `writer`, checked by `integrity`."""
