"""`python -m integrations.emulators.qbo --port 8125`: serve the emulator on loopback."""

import argparse

from .config import EmulatorConfig
from .server import serve


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Local QuickBooks Online API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8125)
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback host")
    parser.add_argument("--client-id", default=EmulatorConfig.client_id)
    parser.add_argument("--client-secret", default=EmulatorConfig.client_secret)
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.add_argument("--company", action="append", default=[], help="another company (realm)")
    args = parser.parse_args(argv)
    config = EmulatorConfig(client_id=args.client_id, client_secret=args.client_secret)
    try:
        serve(
            args.host,
            args.port,
            config,
            allow_remote=args.allow_remote,
            quiet=args.quiet,
            companies=tuple(args.company),
        )
    except (ValueError, OSError) as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
