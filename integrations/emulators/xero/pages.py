"""The HTML of the emulated Xero login/consent screen."""

from html import escape

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0;padding:3rem}
main{max-width:28rem;margin:auto;background:#fff;border-radius:8px;padding:2rem;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.3rem}.muted{color:#555;font-size:.9rem}
button{font-size:1rem;padding:.5rem 1.2rem;border-radius:4px;border:1px solid #13b5ea;
cursor:pointer}
.allow{background:#13b5ea;color:#fff}.cancel{background:#fff;color:#13b5ea}
"""


def _hidden(params: dict[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    )


def sign_in_page(*, params: dict[str, str], emails: list[str]) -> str:
    """Stands in for Xero's login form when the emulator has several users."""
    options = "".join(f"<option>{escape(email)}</option>" for email in emails)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Xero (emulated) – Log in</title>
<style>{_STYLE}</style></head>
<body><main>
<h1>Log in to Xero (emulated)</h1>
<form method="get">
{_hidden(params)}
<label>Email address <select name="login">{options}</select></label>
<p><button class="allow" type="submit">Log in</button></p>
</form>
</main></body></html>"""


def consent_page(
    *, client_id: str, params: dict[str, str], tenants: list[tuple[str, str]], email: str = ""
):
    hidden = _hidden(params)
    organisations = "".join(
        f'<li><label><input type="checkbox" name="tenant_id" value="{escape(tenant_id)}" checked>'
        f" {escape(name)}</label></li>"
        for tenant_id, name in tenants
    )
    scopes = "".join(f"<li>{escape(s)}</li>" for s in params.get("scope", "").split())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Xero (emulated) – Allow access</title>
<style>{_STYLE}</style></head>
<body><main>
<h1>{escape(client_id)} wants to access your Xero organisation</h1>
<p class="muted">This is the local Xero emulator: no real Xero account is involved.</p>
<p class="muted" id="signed-in-as">Signed in as {escape(email)}</p>
<form method="post">
{hidden}<input type="hidden" name="tenant_choice" value="1">
<h2>Organisations</h2><ul>{organisations}</ul>
<h2>Permissions</h2><ul>{scopes}</ul>
<button class="allow" type="submit" name="action" value="allow">Allow access</button>
<button class="cancel" type="submit" name="action" value="cancel">Cancel</button>
</form>
</main></body></html>"""


def error_page(message: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Xero (emulated) – Error</title>
<style>{_STYLE}</style></head>
<body><main><h1>Sorry, something went wrong</h1><p>{escape(message)}</p></main></body></html>"""
