"""Finding passages: dense vectors, BM25, and their fusion."""
