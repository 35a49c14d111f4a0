"""Declarative suites: what must and must not connect, and the steps between checks."""
