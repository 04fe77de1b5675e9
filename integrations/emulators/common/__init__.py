"""What every ledger emulator shares: the threaded server and its command line, injected faults,
the control API's common endpoints, the in-process transport, a hand-driven clock, and the JSON
answers of QBO and MYOB (`wire`).

A ledger's emulator (`xero/`, `qbo/`) keeps its own wire format, entities, OAuth and limits, and
builds on these: its WSGI app subclasses `LedgerEmulator`, its server `EmulatorServer`.
"""
