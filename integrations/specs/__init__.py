"""The ledgers' published API specs and the contract checks that hold our traffic to them.

One package per ledger, each beside the spec files it reads: ``xero`` (Xero's OpenAPI),
``qbo`` (Intuit's XML Schemas), ``myob`` (JSON Schemas written from MYOB's pages); what they
share (a problem, the violation, an exchange, the checking transports, JSON and JSON Schema
reading) is in ``contract``. Only the tests import them: they need the ``dev`` extras
(openapi-core, PyYAML, xmlschema), which production does not install.
"""
