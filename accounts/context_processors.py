from accounts.permissions import Perm, membership_has_perm
from accounts.selectors import membership_list_for_user


def organization(request):
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {
        "current_org": request.org,
        "current_membership": membership,
        # Lazy: the switcher's list is read only when a template shows it.
        "user_memberships": lambda: membership_list_for_user(user=request.user),
        "perms_in_org": {perm.value for perm in Perm if membership_has_perm(membership, perm)},
    }
