"""The control API's shared side (`/_emulator/...`): JSON, no auth, for tests, benchmarks and the
demo. Each handler calls the emulator's public Python method of the same meaning; a ledger adds
its own handlers to `common_rules()`."""

import json
from collections.abc import Callable

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response


def json_body(request: Request) -> dict:
    """The request's JSON object ({} when empty); ValueError (400) for anything else."""
    raw = request.get_data()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def health(emulator, request):
    return {"status": "ok"}


def reset(emulator, request):
    emulator.reset(keep_auth=bool(json_body(request).get("keep_auth", False)))
    return {"status": "reset"}


def state(emulator, request):
    return emulator.state()


def request_log(emulator, request):
    """The request log alone (state() without the ledger's contents, which at 100,000 entries
    is a large answer): the calls logged at or after `since` (the emulator's clock)."""
    since = request.args.get("since", type=float)
    return {"requests": emulator.logged_requests(since)}


def faults(emulator, request):
    if request.method == "POST":
        return emulator.set_faults(**json_body(request))
    if request.method == "DELETE":
        emulator.clear_faults()
    return emulator.fault_settings()


def expire_tokens(emulator, request):
    emulator.expire_tokens()
    return {"status": "expired"}


def revoke_tokens(emulator, request):
    emulator.revoke_tokens()
    return {"status": "revoked"}


def rule(path: str, methods: list[str], endpoint) -> Rule:
    return Rule("/_emulator" + path, methods=methods, endpoint=endpoint)


def common_rules() -> list[Rule]:
    """New rules each call: a Werkzeug rule binds to one map."""
    return [
        rule("/health", ["GET"], health),
        rule("/reset", ["POST"], reset),
        rule("/state", ["GET"], state),
        rule("/requests", ["GET"], request_log),
        rule("/faults", ["GET", "POST", "DELETE"], faults),
        rule("/tokens/expire", ["POST"], expire_tokens),
        rule("/tokens/revoke", ["POST"], revoke_tokens),
    ]


def handle(
    emulator, request: Request, handler, args: dict, *, respond: Callable[..., Response]
) -> Response:
    """Run a handler; unknown objects answer 404 and bad input 400, as `{"error": ...}`;
    `respond(body, status)` writes the ledger's JSON."""
    try:
        result = handler(emulator, request, **args)
    except KeyError as exc:
        return respond({"error": exc.args[0] if exc.args else "not found"}, 404)
    except (ValueError, TypeError) as exc:
        return respond({"error": str(exc)}, 400)
    body, status = result if isinstance(result, tuple) else (result, 200)
    return respond(body, status)
