"""Reads of accounts: a user's memberships, an organisation's API keys."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import ApiKey, Membership, Organization


def membership_list_for_user(*, user: AbstractBaseUser) -> list[Membership]:
    """The user's memberships with their organisations, by organisation name."""
    return list(Membership.objects.filter(user=user).select_related("org").order_by("org__name"))


def membership_get_current(*, user: AbstractBaseUser, org_id: int | None) -> Membership | None:
    """The membership of the organisation picked in the session, else the user's first one."""
    memberships = Membership.objects.filter(user=user).select_related("org").order_by("org__name")
    if org_id is not None:
        picked = memberships.filter(org_id=org_id).first()
        if picked is not None:
            return picked
    return memberships.first()


def api_key_list(*, org: Organization) -> QuerySet[ApiKey]:
    """The organisation's API keys, revoked ones included, with who created and revoked them."""
    return ApiKey.objects.for_org(org).select_related("created_by", "revoked_by")


def api_key_get(*, org: Organization, api_key_id: int) -> ApiKey:
    """One API key of the organisation; another organisation's id is a 404."""
    return get_object_or_404(ApiKey.objects.for_org(org), pk=api_key_id)
