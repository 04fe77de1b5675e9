"""Settings come from the environment: nothing set → the embedded PostgreSQL + the filesystem
broker; URLs switch; every variable the settings read is in the README's configuration table."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'db': str(settings.DATABASES['default']['NAME']), "
    "'host': settings.DATABASES['default']['HOST'], 'broker': settings.CELERY_BROKER_URL, "
    "'debug': settings.DEBUG, 'hosts': settings.ALLOWED_HOSTS}))"
)
OUR_VARIABLES = {
    "CREDENTIALS_ENCRYPTION_KEYS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
}


def read_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in OUR_VARIABLES}
    clean.update(DJANGO_SETTINGS_MODULE="syncsvc.settings", LEDGERSYNC_VAR_DIR=str(tmp_path))
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_nothing_set_means_the_embedded_postgresql_and_a_serverless_broker(tmp_path):
    result = read_settings(tmp_path, DEBUG="1")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    # The embedded server of the var folder: `make run` starts it there (syncsvc/devdb.py).
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db"] == "ledgersync"
    assert values["host"] == str(tmp_path / "postgres")
    assert values["broker"] == "filesystem://"
    assert values["debug"] is True
    assert values["hosts"] == ["localhost", "127.0.0.1", "[::1]"]


def test_urls_switch_to_postgresql_and_redis(tmp_path):
    result = read_settings(
        tmp_path,
        DEBUG="1",
        DATABASE_URL="postgres://someone@db.internal:5432/books",
        REDIS_URL="redis://cache.internal:6379/2",
        ALLOWED_HOSTS="books.example.com",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db"] == "books"
    assert values["broker"] == "redis://cache.internal:6379/2"
    assert values["hosts"] == ["books.example.com"]


@pytest.mark.parametrize("debug", [None, "0"])
def test_production_refuses_to_start_without_a_secret_key(tmp_path, debug):
    env = {"DEBUG": debug} if debug is not None else {}
    result = read_settings(tmp_path, **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_credential_keys(tmp_path):
    result = read_settings(tmp_path, SECRET_KEY="s3cret-from-the-vault")
    assert result.returncode != 0
    assert "CREDENTIALS_ENCRYPTION_KEYS must be set" in result.stderr


def test_production_with_its_secrets(tmp_path):
    result = read_settings(
        tmp_path,
        SECRET_KEY="s3cret-from-the-vault",
        CREDENTIALS_ENCRYPTION_KEYS="5J0cN7b3L1yC2m8q0JkSg3vQm1T0bQy2m0ZkS8c4xUo=",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is False


def test_sqlite_is_refused_with_a_clear_error(tmp_path):
    result = read_settings(tmp_path, DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    assert result.returncode != 0
    assert "DATABASE_URL must be a postgres:// URL" in result.stderr


def variables_read_by_the_settings() -> set[str]:
    source = (ROOT / "syncsvc" / "settings.py").read_text()
    return set(
        re.findall(
            r"""(?:os\.environ\.get|env_bool|env_list|os\.environ\[)\(?\s*"([A-Z_]+)\"""", source
        )
    )


def variables_in_the_readme_table() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_the_readme_names_every_variable_the_settings_read():
    read = variables_read_by_the_settings()
    assert {"DATABASE_URL", "PUBLIC_BASE_URL", "SYNC_BATCH_SIZE"} <= read  # the parser finds them
    documented = variables_in_the_readme_table()
    assert read - documented == set(), "read by syncsvc/settings.py, missing from README"
    assert documented - read == set(), "in the README's table, not read by syncsvc/settings.py"
