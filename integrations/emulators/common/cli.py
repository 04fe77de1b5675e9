"""Running an emulator from the command line, the same options for `python -m
integrations.emulators.<ledger>` and `manage.py run_<ledger>_emulator`: host, port,
--allow-remote, the OAuth client, --quiet, and a repeatable option that adds companies."""

import argparse
from collections.abc import Callable
from dataclasses import dataclass


def add_server_arguments(parser, *, default_port: int, config_class) -> None:
    """The options every emulator takes (a ledger adds its own, such as --tenant)."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    parser.add_argument("--client-id", default=config_class.client_id)
    parser.add_argument("--client-secret", default=config_class.client_secret)
    parser.add_argument("--quiet", action="store_true", help="do not log each request")


def server_options(options: dict, config_class) -> dict:
    """The keyword arguments of a ledger's `serve()` from the parsed options above."""
    return {
        "host": options["host"],
        "port": options["port"],
        "config": config_class(
            client_id=options["client_id"], client_secret=options["client_secret"]
        ),
        "allow_remote": options["allow_remote"],
        "quiet": options["quiet"],
    }


@dataclass(frozen=True)
class EmulatorCommandLine:
    """One ledger's command line: its `python -m` main() and its management command's
    add_arguments / handle both use it."""

    description: str
    default_port: int
    config_class: type
    serve: Callable[..., None]  # the ledger's EmulatorServer.serve
    more_flag: str  # "--tenant": another company, repeatable (serve()'s `companies`)
    more_help: str

    def add_arguments(self, parser) -> None:
        add_server_arguments(parser, default_port=self.default_port, config_class=self.config_class)
        parser.add_argument(self.more_flag, action="append", default=[], help=self.more_help)

    def serve_with(self, options: dict) -> None:
        """Serve in the foreground with the parsed options; ValueError or OSError (a remote
        host not allowed, a port taken) for the caller to report."""
        more = tuple(options[self.more_flag.lstrip("-").replace("-", "_")])
        self.serve(**server_options(options, self.config_class), companies=more)

    def main(self, argv=None) -> None:
        parser = argparse.ArgumentParser(description=self.description)
        self.add_arguments(parser)
        try:
            self.serve_with(vars(parser.parse_args(argv)))
        except (ValueError, OSError) as exc:
            parser.error(str(exc))
