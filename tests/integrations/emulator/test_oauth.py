"""OAuth2 authorization-code flow, refresh rotation, expiry, revocation, connections."""

from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.emulators.xero import EmulatorConfig

from .conftest import API

REDIRECT = "http://localhost:8000/integrations/xero/callback"
SCOPE = "openid offline_access accounting.transactions accounting.contacts"
CLIENT = ("ledgersync-dev", "ledgersync-dev-secret")


def authorize_params(**overrides) -> dict:
    return {
        "response_type": "code",
        "client_id": CLIENT[0],
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "xyz-123",
        **overrides,
    }


def redirect_query(response) -> dict:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(http) -> str:
    consent = http.post("/identity/connect/authorize", data=authorize_params())
    return redirect_query(consent)["code"]


def exchange(http, code, redirect_uri=REDIRECT, auth=CLIENT):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return http.post("/connect/token", data=form, auth=auth)


def refresh(http, refresh_token, auth=CLIENT):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return http.post("/connect/token", data=form, auth=auth)


def test_consent_page_names_the_tenant_and_posts_back(http):
    page = http.get("/identity/connect/authorize", params=authorize_params())

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Demo Company (Emulated)" in page.text
    assert 'method="post"' in page.text and "Allow access" in page.text and "Cancel" in page.text
    assert 'name="state" value="xyz-123"' in page.text


def test_code_flow_end_to_end(http, emulator):
    code = get_code(http)

    token = exchange(http, code)

    assert token.status_code == 200
    body = token.json()
    assert set(body) == {
        "id_token",
        "access_token",
        "expires_in",
        "token_type",
        "refresh_token",
        "scope",
    }
    assert body["expires_in"] == 1800 and body["token_type"] == "Bearer"
    assert body["scope"] == SCOPE
    connections = http.get(
        "/connections", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert connections.status_code == 200
    [connection] = connections.json()
    assert connection["tenantId"] == emulator.default_tenant_id
    assert connection["tenantName"] == "Demo Company (Emulated)"
    assert connection["tenantType"] == "ORGANISATION"
    assert set(connection) == {
        "id",
        "authEventId",
        "tenantId",
        "tenantType",
        "tenantName",
        "createdDateUtc",
        "updatedDateUtc",
    }


def test_redirect_keeps_state_and_cancel_denies_access(http):
    allowed = redirect_query(http.post("/identity/connect/authorize", data=authorize_params()))
    assert allowed["state"] == "xyz-123" and allowed["code"]

    cancelled = http.post(
        "/identity/connect/authorize", data={**authorize_params(), "action": "cancel"}
    )
    assert redirect_query(cancelled) == {"error": "access_denied", "state": "xyz-123"}


def test_unknown_client_gets_an_error_page_not_a_redirect(http):
    response = http.get("/identity/connect/authorize", params=authorize_params(client_id="evil"))

    assert response.status_code == 400
    assert "Unknown client_id" in response.text


def test_code_is_single_use_and_bound_to_redirect_uri(http):
    code = get_code(http)
    assert exchange(http, code, redirect_uri="http://elsewhere/cb").json() == {
        "error": "invalid_grant"
    }
    assert exchange(http, code).json() == {"error": "invalid_grant"}  # burnt by the first try

    good = get_code(http)
    assert exchange(http, good).status_code == 200
    second = exchange(http, good)
    assert (second.status_code, second.json()) == (400, {"error": "invalid_grant"})


@pytest.mark.parametrize("auth", [("ledgersync-dev", "wrong"), ("someone-else", "x")])
def test_bad_client_credentials(http, auth):
    response = exchange(http, get_code(http), auth=auth)

    assert (response.status_code, response.json()) == (400, {"error": "invalid_client"})


def test_client_may_authenticate_with_form_fields(http):
    form = {
        "grant_type": "authorization_code",
        "code": get_code(http),
        "redirect_uri": REDIRECT,
        "client_id": CLIENT[0],
        "client_secret": CLIENT[1],
    }
    assert http.post("/connect/token", data=form).status_code == 200


def test_refresh_rotates_and_old_refresh_token_dies(http):
    first = exchange(http, get_code(http)).json()

    second = refresh(http, first["refresh_token"])
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]

    reused = refresh(http, first["refresh_token"])
    assert (reused.status_code, reused.json()) == (400, {"error": "invalid_grant"})
    assert refresh(http, second["refresh_token"]).status_code == 200


@pytest.mark.parametrize("config", [EmulatorConfig(refresh_grace_seconds=60)])
def test_refresh_grace_window_replays_the_lost_answer(http, emulator, clock):
    token = emulator.connect()
    answer = refresh(http, token["refresh_token"]).json()

    assert refresh(http, token["refresh_token"]).json() == answer
    clock.advance(61)
    assert refresh(http, token["refresh_token"]).json() == {"error": "invalid_grant"}


def test_expired_access_token_is_refused_with_xero_body_and_header(api, clock):
    clock.advance(1801)

    response = api.get("/Invoices")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    body = response.json()
    assert body["Title"] == "Unauthorized" and body["Status"] == 401
    assert body["Detail"].startswith("TokenExpired: token expired at ")
    assert body["Type"] is None and body["Extensions"] == {} and body["Instance"]
    # A refresh gets a working token again.
    api.token = refresh(api.http, api.token["refresh_token"]).json()
    assert api.get("/Invoices").status_code == 200


def test_expire_tokens_control(api):
    api.emulator.expire_tokens()

    assert api.get("/Accounts").json()["Detail"].startswith("TokenExpired")


@pytest.mark.parametrize("authorization", [None, "Bearer nonsense", "Basic abc"])
def test_missing_or_invalid_token(http, emulator, authorization):
    headers = {"xero-tenant-id": emulator.default_tenant_id}
    if authorization:
        headers["Authorization"] = authorization

    response = http.get(f"{API}/Invoices", headers=headers)

    assert response.status_code == 401
    assert response.json()["Detail"] == "AuthenticationUnsuccessful"
    assert "WWW-Authenticate" not in response.headers


def test_revoked_tokens_stop_working(api):
    api.emulator.revoke_tokens()

    assert api.get("/Invoices").status_code == 401
    assert refresh(api.http, api.token["refresh_token"]).json() == {"error": "invalid_grant"}


def test_revocation_endpoint_revokes_the_grant(api):
    response = api.http.post(
        "/connect/revocation", data={"token": api.token["refresh_token"]}, auth=CLIENT
    )

    assert response.status_code == 200
    assert api.get("/Invoices").status_code == 401


@pytest.mark.parametrize("tenant", [None, "", "00000000-0000-0000-0000-000000000000"])
def test_missing_or_unknown_tenant_is_forbidden(api, tenant):
    headers = api.headers()
    if tenant is None:
        del headers["xero-tenant-id"]
    else:
        headers["xero-tenant-id"] = tenant

    response = api.http.get(f"{API}/Invoices", headers=headers)

    assert response.status_code == 403
    body = response.json()
    assert (body["Title"], body["Status"], body["Detail"]) == (
        "Forbidden",
        403,
        "AuthorizationUnsuccessful",
    )


def test_tenant_not_connected_to_the_token_is_forbidden(api):
    other = api.emulator.add_tenant("Globex Emulated")

    assert api.get("/Invoices", headers={"xero-tenant-id": other["tenantId"]}).status_code == 403
    # After consenting to it as well, the same app reaches it.
    token = api.emulator.connect(tenant_ids=[other["tenantId"]])
    headers = {
        "Authorization": f"Bearer {token['access_token']}",
        "xero-tenant-id": other["tenantId"],
    }
    assert api.http.get(f"{API}/Invoices", headers=headers).status_code == 200


def test_deleting_a_connection_disconnects_the_tenant(api):
    auth = {"Authorization": f"Bearer {api.token['access_token']}"}
    [connection] = api.http.get("/connections", headers=auth).json()

    deleted = api.http.delete(f"/connections/{connection['id']}", headers=auth)

    assert deleted.status_code == 204
    assert api.get("/Invoices").status_code == 403
    assert api.http.get("/connections", headers=auth).json() == []
    assert api.http.delete(f"/connections/{connection['id']}", headers=auth).status_code == 404


def test_no_refresh_token_without_offline_access(emulator):
    token = emulator.connect(scope="openid accounting.transactions")

    assert "refresh_token" not in token
