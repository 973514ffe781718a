"""Text analysis shared by BM25, the answerer, the citer and the condenser: words, sentences."""
