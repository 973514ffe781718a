"""Citeline HTTP service, answerers and CLI."""
