"""Calling the ledger: the quota grant, the connector's lifetime, the call record and the
mapping from error class to outcome, shared by the one-record push and the batch pushes."""


class _Retry(Exception):
    """Not now: try this record again after `seconds` (quota, bill first, a version race)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
