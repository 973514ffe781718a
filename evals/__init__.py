"""Citeline evals: gold questions and the quality gate."""
