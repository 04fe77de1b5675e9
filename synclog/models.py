# Models arrive with the connector and sync-engine issues.
