import zoneinfo

from django.utils import timezone

from accounts.selectors import membership_get_current

SESSION_ORG_KEY = "current_org_id"


class CurrentOrganizationMiddleware:
    """Sets `request.membership` and `request.org`: the organisation the user works in now.

    Every page and query is scoped by `request.org`; a user without a membership has neither.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = None
        if request.user.is_authenticated:
            membership = membership_get_current(
                user=request.user, org_id=request.session.get(SESSION_ORG_KEY)
            )
        request.membership = membership
        request.org = membership.org if membership else None
        return self.get_response(request)


class BrowserTimeZoneMiddleware:
    """Show dates in the user's time zone: the browser names it in a cookie (static/js/tz.js)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.COOKIES.get("tz", "")
        try:
            if name:
                timezone.activate(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass  # an unknown name: the server's zone
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
