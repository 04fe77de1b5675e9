import datetime

from django.urls import reverse


def test_dates_follow_the_browser_time_zone(client, clerk, bill):
    client.force_login(clerk)
    approved = datetime.datetime(2026, 11, 1, 23, 30, tzinfo=datetime.UTC)
    type(bill).objects.filter(pk=bill.pk).update(approved_at=approved, status="approved")
    url = reverse("documents:detail", args=[bill.pk])
    assert "2026-11-01 23:30" in client.get(url).content.decode()
    client.cookies["tz"] = "Pacific/Auckland"
    assert "2026-11-02 12:30" in client.get(url).content.decode()
    client.cookies["tz"] = "Not/AZone"
    assert "2026-11-01 23:30" in client.get(url).content.decode()
