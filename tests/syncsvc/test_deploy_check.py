"""Production headers: `manage.py check --deploy` is clean with the documented production
environment (README, Production), which redirects HTTP to HTTPS and sends HSTS by default."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; from django.conf import settings; django.setup(); "
    "print(settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, "
    "settings.SECURE_HSTS_INCLUDE_SUBDOMAINS)"
)


def production_env(tmp_path, **extra) -> dict:
    """What README's Production section has an operator set, and nothing else of ours."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "DEBUG", "SESSION_", "CSRF_", "ALLOWED_"))
        # Set by the browser tests' Playwright fixture: never in a deployment.
        and key != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="syncsvc.settings",
        LEDGERSYNC_VAR_DIR=str(tmp_path),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        CREDENTIALS_ENCRYPTION_KEYS=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        ALLOWED_HOSTS="ap.example.com",
        CSRF_TRUSTED_ORIGINS="https://ap.example.com",
        DATABASE_URL="postgres://ledgersync:secret@127.0.0.1:5432/ledgersync",
    )
    env.update(extra)
    return env


def run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production(tmp_path):
    result = run(["manage.py", "check", "--deploy"], production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    # Every check silent, drf-spectacular's schema checks included (one name per enum).
    assert [line for line in output.splitlines() if line.startswith("?: (")] == []
    assert "System check identified no issues" in output


def test_production_redirects_to_https_and_sends_hsts_by_default(tmp_path):
    result = run(["-c", PROBE], production_env(tmp_path))
    assert result.stdout.split() == ["True", "31536000", "True"], result.stderr


def test_the_redirect_and_hsts_can_be_set_from_the_environment(tmp_path):
    env = production_env(tmp_path, SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="3600")
    result = run(["-c", PROBE], env)
    assert result.stdout.split() == ["False", "3600", "True"], result.stderr


def test_development_has_neither(tmp_path):
    env = production_env(tmp_path, DEBUG="1")
    result = run(["-c", PROBE], env)
    assert result.stdout.split() == ["False", "0", "False"], result.stderr


def test_pages_carry_the_content_security_policy(client):
    response = client.get("/sign-in/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
