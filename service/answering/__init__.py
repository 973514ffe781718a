"""Answerers: the extractive default and any OpenAI-compatible LLM (`factory.build_answerers`)."""
