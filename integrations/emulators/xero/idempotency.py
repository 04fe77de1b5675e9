"""`Idempotency-Key` on PUT/POST: a retry with the same key and request gets the stored answer.

Keys are scoped per tenant and kept `ttl` seconds (24 h). The request is identified by method,
path, query string and a hash of the body. Reusing a key for a different request is refused with
409 (Xero does not publish its answer for that case).
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEY_LENGTH = 128


@dataclass
class StoredResponse:
    fingerprint: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    stored_at: float


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()} {path}?{query} {digest}"


class IdempotencyStore:
    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self.clock = clock
        self._responses: dict[tuple[str, str], StoredResponse] = {}

    def reset(self) -> None:
        self._responses.clear()

    def find(self, tenant_id: str, key: str) -> StoredResponse | None:
        stored = self._responses.get((tenant_id, key))
        if stored and self.clock() - stored.stored_at > self.ttl:
            del self._responses[(tenant_id, key)]
            return None
        return stored

    def remember(self, tenant_id: str, key: str, stored: StoredResponse) -> None:
        self._purge_expired()
        self._responses[(tenant_id, key)] = stored

    def __len__(self) -> int:
        return len(self._responses)

    def _purge_expired(self) -> None:
        cutoff = self.clock() - self.ttl
        for scoped_key in [k for k, v in self._responses.items() if v.stored_at < cutoff]:
            del self._responses[scoped_key]
