"""Every page names its icon: without it the browser asks /favicon.ico, which answers 404 and
logs an error in the console of every page (seen walking the demo)."""

import re

from django.contrib.staticfiles import finders
from django.urls import reverse


def test_every_page_names_an_icon_that_is_served(client, db):
    page = client.get(reverse("login")).content.decode()
    icon = re.search(r'<link rel="icon" href="/static/([^"]+)"', page)
    assert icon, "no icon named in base.html"
    assert finders.find(icon.group(1)), icon.group(1)
