"""Citeline indexer: reads a folder of articles, chunks, embeds and syncs them into Chroma."""
