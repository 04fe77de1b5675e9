"""What an admin reads when the token service answers oddly: our words, never its raw body
(the answer is kept in the error's raw text and the log)."""

import httpx
import pytest

from integrations.connectors.errors import AuthError
from integrations.connectors.xero import XeroConnector
from integrations.views.base import ledger_error_text

SECRET_PAGE = "<html><body>internal admin console: db password hunter2</body></html>"


def exchange(status: int, body: str, content_type: str = "text/html"):
    def answer(request):
        return httpx.Response(status, text=body, headers={"Content-Type": content_type})

    return XeroConnector.exchange_code(
        base_url="http://127.0.0.1:8123",
        code="c",
        redirect_uri="http://x/cb",
        transport=httpx.MockTransport(answer),
    )


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (400, SECRET_PAGE, "text/html"),
        (400, '{"error": "' + SECRET_PAGE.replace('"', "'") + '"}', "application/json"),
        (200, SECRET_PAGE, "text/html"),
        (200, '{"token_type": "Bearer", "note": "hunter2"}', "application/json"),
    ],
)
def test_the_token_services_raw_answer_is_never_in_the_message(status, body, content_type):
    with pytest.raises(AuthError) as caught:
        exchange(status, body, content_type)
    error = caught.value
    assert "hunter2" not in error.message
    assert "hunter2" not in ledger_error_text(error)
    assert "hunter2" in error.raw  # kept for the log


def test_an_oauth_error_code_is_named():
    with pytest.raises(AuthError) as caught:
        exchange(400, '{"error": "invalid_grant"}', "application/json")
    assert caught.value.message == "Xero refused the token request (HTTP 400: invalid_grant)."
