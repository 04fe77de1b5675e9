"""What the integrations pages share: the admin-only view, a ledger error in a flash message's
words, the start of an OAuth consent, and what is not in a new ledger yet."""

import logging
import secrets

from django.shortcuts import redirect
from django.urls import reverse
from django.views import View

from accounts.mixins import OrgPermissionRequiredMixin
from accounts.permissions import Perm
from integrations import selectors, services
from integrations.connectors.errors import (
    ConfigurationError,
    ConnectorError,
    RateLimitedError,
    TransientError,
)
from synclog.selectors.document_state import connection_unpushed_documents

SESSION_OAUTH_KEY = "integrations_oauth"
# A consent waiting for the admin's choice of organisation (its tokens encrypted).
SESSION_CONSENT_KEY = "integrations_consent"

logger = logging.getLogger(__name__)


def ledger_error_text(error: ConnectorError) -> str:
    """What a flash message says about a ledger error: our explanation and hint, never the
    ledger's raw answer (logged instead; it may be any page an address answers with)."""
    logger.warning(
        "Ledger error shown to an admin (%s, HTTP %s): %s | raw: %s",
        type(error).__name__,
        error.http_status,
        error.message,
        error.raw[:2000],
    )
    if isinstance(error, ConfigurationError):
        summary = error.message  # ours: names what to set up
    elif isinstance(error, RateLimitedError):
        summary = error.message  # ours, from the ledger's Retry-After: says when to try again
    elif isinstance(error, TransientError):
        summary = "The ledger did not answer or failed."
    elif error.status_code == 4220:
        summary = "The ledger did not grant ledgersync access."
    else:
        summary = "The ledger refused the request."
    if error.http_status and error.http_status >= 300:
        summary = f"{summary[:-1]} (HTTP {error.http_status})."
    return " ".join(part for part in (summary, error.explanation, error.hint) if part)


class IntegrationsView(OrgPermissionRequiredMixin, View):
    permission = Perm.MANAGE_INTEGRATIONS


def start_oauth(request, *, provider: str, base_url: str, name: str, connection_id=None):
    state = secrets.token_urlsafe(24)
    url = services.connection_authorization_url(
        provider=provider,
        base_url=base_url,
        redirect_uri=request.build_absolute_uri(reverse("integrations:callback")),
        state=state,
    )
    # The state ties the ledger's redirect back to this user's request (CSRF for OAuth).
    request.session[SESSION_OAUTH_KEY] = {
        "state": state,
        "org_id": request.org.pk,
        "provider": provider,
        "base_url": base_url,
        "name": name,
        "connection_id": connection_id,
    }
    return redirect(url)


def unpushed_context(connection) -> dict:
    """Right after Connect: how many documents are not in the ledger yet, and what to map
    before pushing them (else they fail on it)."""
    documents = connection_unpushed_documents(connection=connection)
    count = documents.count()
    return {
        "unpushed_count": count,
        "unmapped": selectors.connection_unmapped_before_push(
            connection=connection, documents=documents
        )
        if count
        else None,
    }
