"""Create an organisation's API key and print it, once (as the API keys page does).

manage.py api_key demo --name "Partner ERP"
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an organisation (by slug) and print it; it is shown once."

    def add_arguments(self, parser):
        parser.add_argument("org", metavar="SLUG", help="The organisation's slug, e.g. demo.")
        parser.add_argument("--name", default="Created by api_key", help="The key's name.")

    def handle(self, *args, org, name, **options):
        organisation = Organization.objects.filter(slug=org).first()
        if organisation is None:
            raise CommandError(f"No organisation with slug {org!r}.")
        self.stdout.write(api_key_create(org=organisation, name=name, actor=None).plaintext)
