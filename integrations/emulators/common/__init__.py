"""What every ledger emulator shares: the threaded server and its command line, injected faults,
the control API's common endpoints, the in-process transport and a hand-driven clock.

A ledger's emulator (`xero/`, `qbo/`) keeps its own wire format, entities, OAuth and limits, and
builds on these: its WSGI app subclasses `LedgerEmulator`, its server `EmulatorServer`.
"""
