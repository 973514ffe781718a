"""Structured JSON logs with request ids (`logging`), Prometheus metrics (`metrics`)."""
