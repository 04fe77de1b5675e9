"""Create a partner (when new), grant it organisations and print a new key for it, once.

manage.py partner_key "Acme Expenses" --grant demo --grant globex
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from partners import services
from partners.models import Partner


class Command(BaseCommand):
    help = "Create a partner API key (printed once), granting the partner organisations by slug."

    def add_arguments(self, parser):
        parser.add_argument("partner", help="The partner's name (created when new).")
        parser.add_argument("--name", default="Created by partner_key", help="The key's name.")
        parser.add_argument(
            "--grant", action="append", default=[], metavar="SLUG", help="An organisation's slug."
        )

    def handle(self, *args, partner, name, grant, **options):
        orgs = []
        for slug in grant:
            org = Organization.objects.filter(slug=slug).first()
            if org is None:
                raise CommandError(f"No organisation with slug {slug!r}.")
            orgs.append(org)
        partner_obj, _ = Partner.objects.get_or_create(name=partner)
        for org in orgs:
            services.partner_grant(partner=partner_obj, org=org)
        created = services.partner_key_create(partner=partner_obj, name=name, actor=None)
        self.stdout.write(created.plaintext)
