"""What the emulated consent pages share: a small styled HTML page, and the redirect back to the
client with the answer's parameters (the empty ones left out)."""

from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Response


def html_page(body: str, *, title: str, style: str, status: int = 200) -> Response:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{style}</style></head><body><main>{body}"
        "</main></body></html>"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def redirect_back(redirect_uri: str, **params) -> Response:
    separator = "&" if "?" in redirect_uri else "?"
    query = urlencode({k: v for k, v in params.items() if v})
    return redirect(f"{redirect_uri}{separator}{query}", code=302)
