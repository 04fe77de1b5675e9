"""Sync pages, one module per page family; their routes are in synclog/urls.py."""
