"""The Mini App dashboard inside Telegram: page, JSON API and initData checks (docs/webapp.md).

A layer beside handlers/: it uses models/ (which decides every access) and ui/ (words), never
bot/; bot/ builds it from the configuration and serves it in the bot's event loop.
"""
