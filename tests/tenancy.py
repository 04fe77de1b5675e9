"""Shared tenant-isolation helper: another organisation's ids must look like missing ones."""

from django.test import Client


def assert_not_found_for_other_tenant(client: Client, method: str, url: str, data=None):
    response = getattr(client, method)(url, data or {})
    assert response.status_code == 404, (
        f"{method.upper()} {url} answered {response.status_code} for another organisation's id"
    )
    return response
