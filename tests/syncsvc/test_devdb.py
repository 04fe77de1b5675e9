"""The embedded PostgreSQL a newcomer runs on: `python -m syncsvc.devdb` from a fresh data folder,
migrated, serving the page that broke on the old SQLite default (Requires attention with two
failure causes), and stopped when its command ends."""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs inside `devdb -- python -c ...`: migrate the fresh database, make two failures of different
# causes, and read the page as a signed-in clerk would.
PAGE_SCRIPT = textwrap.dedent(
    """
    import django, os, re
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    call_command("migrate", verbosity=0)
    from accounts.models import Role
    from integrations.models import Connection, Provider
    from synclog.models import EntryType, RecordStatus, StatusCode, SyncRecord
    from tests.factories import DocumentFactory, MembershipFactory, OrganizationFactory

    org = OrganizationFactory(name="Acme", slug="acme")
    connection = Connection.objects.create(org=org, provider=Provider.XERO, name="Xero")
    causes = [
        (StatusCode.CONFIGURATION, "Category Travel has no Xero mapping."),
        (StatusCode.DATA_PUSH, "The contact is archived."),
    ]
    for number, (code, message) in enumerate(causes):
        SyncRecord.objects.create(
            org=org, connection=connection, entry_type=EntryType.BILL,
            document=DocumentFactory(org=org, number=f"B-{number}", status="approved"),
            status=RecordStatus.FAILED, last_error_code=code, last_error_message=message,
        )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(MembershipFactory(org=org, role=Role.AP_CLERK).user)
    page = client.get(reverse("synclog:attention"))
    text = re.sub(r"\\s+", " ", page.content.decode())
    print("STATUS", page.status_code)
    for _, message in causes:
        print("SHOWN" if message in text else "MISSING", message)
    print("SERVER", os.environ["DATABASE_URL"])
    """
)


def postgres_running_on(data_dir: Path) -> bool:
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return False
    return psutil.pid_exists(int(pid_file.read_text().split()[0]))


@pytest.fixture
def data_parent():
    """A folder for the data outside pytest's tmp_path: as root the server runs as its own OS
    user, who must reach the data, and pytest keeps its tmp root private (0700) and makes it so
    again whenever another pytest run starts."""
    parent = Path(tempfile.mkdtemp(prefix="ledgersync-devdb-test-"))
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


def test_embedded_server_from_a_fresh_folder_serves_requires_attention(tmp_path, data_parent):
    data_dir = data_parent / "postgres"
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="syncsvc.settings",
        DEBUG="1",
        LEDGERSYNC_VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY="test-only-secret-key",
    )
    done = subprocess.run(
        [sys.executable, "-m", "syncsvc.devdb", "--data", str(data_dir), "--"]
        + [sys.executable, "-c", PAGE_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "STATUS 200" in done.stdout, output[-4000:]
    assert "SHOWN Category Travel has no Xero mapping." in done.stdout, output[-4000:]
    assert "SHOWN The contact is archived." in done.stdout, output[-4000:]
    # Its own server, on a socket in the fresh folder, kept on disk and stopped with the command.
    assert "SERVER postgres://postgres@" in done.stdout
    assert (data_dir / "PG_VERSION").exists()
    assert not postgres_running_on(data_dir)


def test_a_given_database_url_is_used_as_it_is(tmp_path):
    env = dict(os.environ, DATABASE_URL="postgres://someone@db.internal:5432/books")
    done = subprocess.run(
        [sys.executable, "-m", "syncsvc.devdb", "--data", str(tmp_path / "pg"), "--"]
        + [sys.executable, "-c", "import os; print(os.environ['DATABASE_URL'])"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "postgres://someone@db.internal:5432/books"
    assert not (tmp_path / "pg").exists()  # no server was started
