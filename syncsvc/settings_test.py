"""Test settings: the same environment-driven settings, with test-only defaults."""

import os
import tempfile
import uuid

os.environ.setdefault("DEBUG", "1")
# Each test run gets its own local state and rate-limit keys, shared with the worker processes
# it starts (they inherit the environment), never with an earlier run.
TEMPORARY_VAR_DIR = ""
if "LEDGERSYNC_VAR_DIR" not in os.environ:
    TEMPORARY_VAR_DIR = os.environ["LEDGERSYNC_VAR_DIR"] = tempfile.mkdtemp(
        prefix="ledgersync-test-"
    )
if not os.environ.get("DATABASE_URL"):
    # No database given: a throw-away embedded PostgreSQL for this run, deleted when it ends.
    # Set in the environment, so the worker processes the tests start use the same server.
    from syncsvc import devdb

    os.environ["DATABASE_URL"] = devdb.start(
        tempfile.mkdtemp(prefix="ledgersync-test-pg-"), temporary=True
    )
os.environ.setdefault("RATE_LIMIT_KEY_PREFIX", f"ledgersync-test-{uuid.uuid4().hex[:12]}:rl:")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from syncsvc.settings import *  # noqa: E402,F403
from syncsvc.settings import VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = VAR_DIR / "test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
