"""Offline stand-ins for Telegram: a Bot API simulator that the real bot can talk to."""
