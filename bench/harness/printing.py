"""What a run prints: timestamped progress lines, figures, and the `RESULT <figure>: ...` lines
that bench/README.md quotes and the smoke tests read."""

from __future__ import annotations

import json
import time

_started = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _started:7.1f}s] {message}", flush=True)


def result(figure: str, text: str) -> None:
    print(f"RESULT {figure}: {text}", flush=True)


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def dumps(data: dict) -> str:
    return json.dumps(data, sort_keys=True, default=str)
