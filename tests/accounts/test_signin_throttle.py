"""Sign-in is throttled per account and per address (django-axes), with one clear answer that
does not tell whether the account exists."""

import re

import pytest
from django.urls import reverse

from accounts.models import Role
from tests.factories import TEST_PASSWORD, MembershipFactory

LIMIT = 10  # SIGNIN_FAILURE_LIMIT's default
LOCKED = "Too many failed sign-ins for this account or from this address."
WRONG = "Please enter a correct username and password."


@pytest.fixture
def member(org):
    return MembershipFactory(org=org, role=Role.AP_CLERK, user__username="carol").user


def sign_in(client, username, password, address="203.0.113.5"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_an_account_is_locked_after_the_limit_even_for_the_right_password(client, org, member):
    # Each from its own address, so only the account's count is at work.
    for attempt in range(LIMIT - 1):
        response = sign_in(client, "carol", "wrong", address=f"198.51.100.{attempt}")
        assert response.status_code == 200
        assert WRONG in response.content.decode()
    response = sign_in(client, "carol", "wrong", address="198.51.100.200")
    assert response.status_code == 429
    assert LOCKED in response.content.decode()

    response = sign_in(client, "carol", TEST_PASSWORD, address="198.51.100.201")
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account from that address still signs in.
    other = MembershipFactory(org=org, role=Role.AP_CLERK).user
    response = sign_in(client, other.username, TEST_PASSWORD, address="198.51.100.201")
    assert response.status_code == 302


def test_an_address_is_locked_after_the_limit_across_usernames(client, member):
    for attempt in range(LIMIT):
        sign_in(client, f"guess{attempt}", "wrong", address="192.0.2.9")
    response = sign_in(client, "carol", TEST_PASSWORD, address="192.0.2.9")
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The same account from another address is not locked.
    response = sign_in(client, "carol", TEST_PASSWORD, address="192.0.2.10")
    assert response.status_code == 302


def test_an_unknown_username_gets_the_same_answers_as_a_real_one(client, member):
    def answers(username, network):
        seen = []
        for attempt in range(LIMIT + 2):
            response = sign_in(client, username, "wrong", address=f"10.9.{network}.{attempt}")
            body = response.content.decode().replace(username, "USERNAME")
            # The CSRF token differs per response; the rest of the page must not.
            body = re.sub(r"[A-Za-z0-9]{64}", "CSRF-TOKEN", body)
            seen.append((response.status_code, body))
        return seen

    real, unknown = answers("carol", 1), answers("nobod", 2)
    assert [status for status, _ in real] == [200] * (LIMIT - 1) + [429] * 3
    assert real == unknown


def test_the_lockout_message_says_how_long(client, member, settings):
    settings.AXES_FAILURE_LIMIT = 2
    sign_in(client, "carol", "wrong")
    response = sign_in(client, "carol", "wrong")
    assert response.status_code == 429
    assert "Try again in 15 minutes" in response.content.decode()
