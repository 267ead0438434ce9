"""A cadre's own settings."""

from models import audit
from models.access import actor
from models.errors import Refused
from models.store import Ctx
from models.tables import Cadre

LOCALES = ("zh_CN", "en")


def set_locale(ctx: Ctx, actor_id: int, locale: str) -> Cadre:
    """The language the bot speaks to this cadre."""
    who = actor(ctx, actor_id)
    if locale not in LOCALES:
        raise Refused("invalid_value", field="locale", value=locale)
    before = audit.snapshot(who)
    who.locale = locale
    audit.record(ctx, who.id, "cadre.locale", who, before=before, cadre_id=who.id)
    return who
