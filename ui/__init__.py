"""What people see, built from models: rendering and i18n, cards, digests, charts, workbooks,
and the typed callback data every inline button carries.

Sits between handlers/ (which talk to Telegram) and models/; it never imports handlers/ or bot/.
"""
