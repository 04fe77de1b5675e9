"""Settings come from the environment: nothing set → SQLite + filesystem broker; URLs switch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'db': str(settings.DATABASES['default']['NAME']), 'broker': settings.CELERY_BROKER_URL, "
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


def test_nothing_set_means_sqlite_and_a_serverless_broker(tmp_path):
    result = read_settings(tmp_path, DEBUG="1")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.sqlite3"
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
