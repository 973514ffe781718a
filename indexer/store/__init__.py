"""Chunk stores: the `ChunkStore` protocol, an in-memory fake, and the Chroma implementation."""
