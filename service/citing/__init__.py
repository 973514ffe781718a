"""Checking drafts: citation markers, the citer, source verification, the stream filter."""
