"""`python -m integrations.emulators.myob --port 8127`: serve the emulator on loopback."""

from .server import COMMAND_LINE

if __name__ == "__main__":
    COMMAND_LINE.main()
