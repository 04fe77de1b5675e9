"""Intuit OAuth against the emulator: consent with a company choice, tokens that expire and
rotate, revocation, and the realm a token may reach."""

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.emulators.qbo import ACCOUNTING_SCOPE

from .conftest import MINOR, fault

REDIRECT = "http://localhost:8000/integrations/callback/"


def basic(emulator) -> dict:
    pair = f"{emulator.config.client_id}:{emulator.config.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def authorize_params(emulator, **extra) -> dict:
    return {
        "client_id": emulator.config.client_id,
        "response_type": "code",
        "scope": ACCOUNTING_SCOPE,
        "redirect_uri": REDIRECT,
        "state": "s-1",
        **extra,
    }


def consent(http, emulator, realm_id, action="allow") -> dict:
    response = http.post(
        "/connect/oauth2",
        data={**authorize_params(emulator), "realm_id": realm_id, "action": action},
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def token(http, emulator, **form):
    return http.post("/oauth2/v1/tokens/bearer", data=form, headers=basic(emulator))


def company_info(http, access_token, realm_id):
    return http.get(
        f"/v3/company/{realm_id}/companyinfo/{realm_id}",
        params=MINOR,
        headers={"Authorization": f"Bearer {access_token}"},
    )


def test_the_user_picks_one_company_and_the_callback_carries_its_realm_id(http, emulator):
    second = emulator.add_realm("Globex (Emulated)")["realmId"]

    page = http.get("/connect/oauth2", params=authorize_params(emulator))
    assert page.status_code == 200
    assert "Sandbox Company (Emulated)" in page.text and "Globex (Emulated)" in page.text
    assert 'type="radio" name="realm_id"' in page.text

    callback = consent(http, emulator, second)
    assert callback["realmId"] == second and callback["state"] == "s-1"
    answer = token(
        http,
        emulator,
        grant_type="authorization_code",
        code=callback["code"],
        redirect_uri=REDIRECT,
    )
    assert answer.status_code == 200
    tokens = answer.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 3600
    assert tokens["x_refresh_token_expires_in"] == 100 * 24 * 3600

    assert (
        company_info(http, tokens["access_token"], second).json()["CompanyInfo"]["CompanyName"]
        == "Globex (Emulated)"
    )
    # The consent granted that company only.
    other = company_info(http, tokens["access_token"], emulator.default_realm_id)
    assert fault(other, 403)[0] == "3100"
    # A code works once.
    again = token(
        http,
        emulator,
        grant_type="authorization_code",
        code=callback["code"],
        redirect_uri=REDIRECT,
    )
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}


def test_cancel_and_bad_requests(http, emulator):
    assert consent(http, emulator, emulator.default_realm_id, action="cancel") == {
        "error": "access_denied",
        "state": "s-1",
    }
    unknown = http.get("/connect/oauth2", params=authorize_params(emulator, client_id="nope"))
    assert unknown.status_code == 400
    no_scope = http.get("/connect/oauth2", params=authorize_params(emulator, scope="openid"))
    assert "error=invalid_scope" in no_scope.headers["location"]
    bad_client = http.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        headers={"Authorization": "Basic " + base64.b64encode(b"ledgersync-qbo-dev:no").decode()},
    )
    assert bad_client.status_code == 401 and bad_client.json() == {"error": "invalid_client"}


def test_access_tokens_expire_after_an_hour_and_refresh_tokens_rotate(http, emulator, clock):
    tokens = emulator.connect()
    realm_id = tokens["realmId"]
    clock.advance(3599)
    assert company_info(http, tokens["access_token"], realm_id).status_code == 200
    clock.advance(1)
    expired = company_info(http, tokens["access_token"], realm_id)
    code, message, detail = fault(expired, 401)
    assert code == "3200" and "AuthenticationFailed" in message and "expired" in detail

    renewed = token(
        http, emulator, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert renewed.status_code == 200
    fresh = renewed.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert company_info(http, fresh["access_token"], realm_id).status_code == 200
    # The used refresh token is spent: only the newest one works.
    spent = token(http, emulator, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert spent.status_code == 400 and spent.json() == {"error": "invalid_grant"}
    again = token(http, emulator, grant_type="refresh_token", refresh_token=fresh["refresh_token"])
    assert again.status_code == 200


def test_an_unused_refresh_token_dies_after_100_days(http, emulator, clock):
    tokens = emulator.connect()
    clock.advance(100 * 24 * 3600)
    late = token(http, emulator, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert late.json() == {"error": "invalid_grant"}


@pytest.mark.parametrize("which", ["refresh_token", "access_token"])
def test_revoke_ends_the_grant(http, emulator, which):
    tokens = emulator.connect()
    revoked = http.post(
        "/v2/oauth2/tokens/revoke", json={"token": tokens[which]}, headers=basic(emulator)
    )
    assert revoked.status_code == 200
    assert fault(company_info(http, tokens["access_token"], tokens["realmId"]), 401)[0] == "3200"
    refresh = token(
        http, emulator, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refresh.json() == {"error": "invalid_grant"}


def test_no_token_is_an_authentication_fault(http, emulator):
    response = http.get(f"/v3/company/{emulator.default_realm_id}/preferences", params=MINOR)
    assert fault(response, 401)[0] == "3200"
