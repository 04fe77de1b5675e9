"""Sign-in throttling with django-axes: failed sign-ins are counted per username and, apart,
per client address; past the limit both answer the same "too many failed sign-ins" page for the
cool-off time, whether the account exists or not (so the answer says nothing about accounts)."""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render


class SignInThrottleBackend(AxesStandaloneBackend):
    """Axes' lockout check, for sign-ins that come with a request (the sign-in and admin pages).

    `authenticate()` without a request (a management command, a test client's login) has no
    address to count and nobody at the door: it is left to the model backend, instead of axes'
    error.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or, behind the HTTPS proxy we were told about, the
    address that proxy appended last to X-Forwarded-For (earlier entries come from the client and
    can be anything)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def lockout_message() -> str:
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return (
        "Too many failed sign-ins for this account or from this address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, "
        "or ask an admin to reset your password."
    )


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page with the lockout message (429), the same for every username."""
    username = (credentials or {}).get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "lockout_message": lockout_message(), "next": ""}
    return render(request, "registration/login.html", context, status=429)
