"""Benchmarks and fault drills: scripts that print `RESULT` lines (see bench/README.md)."""
