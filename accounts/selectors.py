from django.contrib.auth.models import AbstractBaseUser

from accounts.models import Membership


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
