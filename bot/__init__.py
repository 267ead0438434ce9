"""The composition root: configuration, the Application, the command line and the sandbox."""

import os

# Opt in to python-telegram-bot's coming behaviour (durations as timedelta), which bot/sender.py
# already handles, instead of a deprecation warning at every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")
