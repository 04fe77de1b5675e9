"""Local emulators of the ledgers we sync to: same paths, JSON, headers and errors as the
real APIs."""
