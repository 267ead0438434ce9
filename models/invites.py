"""Invite codes: an admin issues one for a cadre; the cadre binds their Telegram account with it."""

import secrets
from datetime import timedelta

from sqlmodel import col, select

from models import audit
from models.access import actor, load, require_admin
from models.errors import Refused
from models.limits import clean_text
from models.store import Ctx
from models.tables import Cadre, InviteCode

# No 0/O, 1/I/L: codes are read off paper and typed on phones.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def issue_invite(ctx: Ctx, actor_id: int, cadre_id: int, ttl_days: int = 14) -> InviteCode:
    who = actor(ctx, actor_id)
    require_admin(who, "invite.issue", "cadre", cadre_id)
    cadre = load(ctx, Cadre, cadre_id)
    invite = InviteCode(code=new_code(), cadre_id=cadre.id or 0, created_by=who.id,
                        created_at=ctx.now, expires_at=ctx.now + timedelta(days=ttl_days))
    ctx.session.add(invite)
    audit.record(ctx, who.id, "invite.issue", invite, cadre_id=cadre.id, unit_id=cadre.unit_id)
    return invite


def redeem_invite(ctx: Ctx, code: str, telegram_user_id: int) -> Cadre:
    """Bind the Telegram account to the invite's cadre; unknown, used, expired codes are refused."""
    normalized = clean_text(code).strip().upper()
    invite = ctx.session.exec(select(InviteCode).where(InviteCode.code == normalized)).first()
    if invite is None:
        raise Refused("invite_unknown")
    if invite.used_at is not None:
        raise Refused("invite_used")
    if invite.expires_at <= ctx.now:
        raise Refused("invite_expired")
    bound = ctx.session.exec(
        select(Cadre).where(Cadre.telegram_user_id == telegram_user_id)
    ).first()
    if bound is not None and bound.id != invite.cadre_id:
        raise Refused("telegram_already_bound", name=bound.name)
    cadre = load(ctx, Cadre, invite.cadre_id, for_update=True)
    if not cadre.active:
        raise Refused("invite_unknown")
    before = audit.snapshot(cadre)
    cadre.telegram_user_id = telegram_user_id
    invite.used_at = ctx.now
    invite.used_by_telegram_id = telegram_user_id
    audit.record(ctx, cadre.id, "invite.redeem", cadre, before=before, cadre_id=cadre.id,
                 unit_id=cadre.unit_id)
    return cadre


def issue_office_invite(ctx: Ctx, cadre_id: int, ttl_days: int = 14, *,
                        make_admin: bool = False) -> tuple[InviteCode, bool]:
    """An invite for an administrator, issued by the assessment office at the command line
    (`kaohe admin invite`), with no admin acting: the way into a fresh install. While the
    install has no active admin, the named cadre becomes its first; after that only an admin
    can be named, unless the office says `make_admin`. Returns the invite and whether the
    cadre was made an admin."""
    cadre = load(ctx, Cadre, cadre_id, for_update=True)
    if not cadre.active:
        raise Refused("cadre_inactive", name=cadre.name)
    made = False
    if not cadre.is_admin:
        admins = ctx.session.exec(select(Cadre.id).where(col(Cadre.is_admin),
                                                         col(Cadre.active))).first()
        if admins is not None and not make_admin:
            raise Refused("office_invite_not_admin", name=cadre.name)
        before = audit.snapshot(cadre)
        cadre.is_admin = True
        audit.record(ctx, None, "cadre.make_admin", cadre, before=before, cadre_id=cadre.id,
                     unit_id=cadre.unit_id)
        made = True
    invite = InviteCode(code=new_code(), cadre_id=cadre.id or 0, created_by=None,
                        created_at=ctx.now, expires_at=ctx.now + timedelta(days=ttl_days))
    ctx.session.add(invite)
    audit.record(ctx, None, "invite.issue", invite, cadre_id=cadre.id, unit_id=cadre.unit_id)
    return invite, made
