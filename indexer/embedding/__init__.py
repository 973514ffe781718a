"""Embedding backends behind the narrow `Embedder` protocol; `build_embedder` picks one."""
