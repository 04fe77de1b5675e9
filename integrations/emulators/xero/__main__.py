"""`python -m integrations.emulators.xero --port 8123`: serve the emulator on loopback."""

from .server import COMMAND_LINE

if __name__ == "__main__":
    COMMAND_LINE.main()
