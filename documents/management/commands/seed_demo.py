"""Seed the demo organisations with users, contacts and documents in every state.

Demo Company and Globex Ltd are the Xero teams; Initech Inc. is the AP team on QuickBooks Online
and Clearwater Workshop the one on MYOB, each with users of its own and the vendors and classes
(jobs) its ledger emulator's companies hold, so that mapping them after Connect is a matter of
picking the same names.

What the demo holds is in documents.demo.plan, how it is written in documents.demo.seeder.
"""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Membership, Organization
from documents.demo.plan import ALL_SLUGS, DEFAULT_PASSWORD, DEMO, LEDGER_TEAMS, USERNAMES
from documents.demo.seeder import delete_demo, ensure_passwords, seed_demo, seed_teams


class Command(BaseCommand):
    help = "Seed the demo organisations, users and documents (once; --reset to start over)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"Password of every demo user (default: {DEFAULT_PASSWORD}).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo organisations and their users, then seed again.",
        )

    def handle(self, *args, password: str, reset: bool, **options):
        with transaction.atomic():
            if reset:
                delete_demo()
            existing = set(
                Organization.objects.filter(slug__in=ALL_SLUGS).values_list("slug", flat=True)
            )
            if DEMO.slug in existing:
                missing = [spec for spec in LEDGER_TEAMS if spec.slug not in existing]
                if missing:
                    counts = seed_teams(missing, password)
                    self._print_seeded(counts)
                else:
                    self.stdout.write(
                        "The demo data exists already (use --reset to seed it again)."
                    )
                ensure_passwords(get_user_model().objects.filter(username__in=USERNAMES), password)
            elif existing:
                raise CommandError(
                    f"Organisations with the slugs {sorted(existing)!r} exist but are not demo "
                    "data; use --reset to replace them."
                )
            else:
                self._print_seeded(seed_demo(password))
        self._print_logins(password)

    def _print_seeded(self, counts: dict[str, int]) -> None:
        summary = ", ".join(f"{name}: {count} documents" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Seeded the demo data ({summary})."))

    def _print_logins(self, password: str) -> None:
        memberships = defaultdict(list)
        for membership in Membership.objects.filter(user__username__in=USERNAMES).select_related(
            "user", "org"
        ):
            memberships[membership.user.username].append(membership)
        rows = [("Username", "Password", "Organisation(s)", "Role")]
        for username in USERNAMES:
            if username not in memberships:
                continue
            user_memberships = memberships[username]
            roles = dict.fromkeys(m.get_role_display() for m in user_memberships)
            role = " / ".join(roles)
            if any(m.can_export for m in user_memberships):
                role += ", can export"
            if user_memberships[0].user.is_superuser:
                role += ", Django admin"
            orgs = ", ".join(m.org.name for m in user_memberships)
            rows.append((username, password, orgs, role))
        widths = [max(len(row[column]) for row in rows) for column in range(4)]
        self.stdout.write("Demo logins:")
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write(("  " + "  ".join(cells)).rstrip())
