"""Invite codes: an admin issues one for a cadre; the cadre binds their Telegram account with it.

The code is shown once, to the admin who issues it; the table keeps only a slow hash of it and
the audit log keeps neither, so a copy of the database or of the log binds nobody. Failed
redemptions are audited and counted per Telegram account: after MAX_FAILURES in
FAILURE_WINDOW the account must wait before trying again.
"""

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from models import audit
from models.access import actor, load, require_admin
from models.errors import Refused
from models.limits import clean_text
from models.store import Ctx
from models.tables import Cadre, InviteCode, InviteFailure

# No 0/O, 1/I/L: codes are read off paper and typed on phones.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)
# scrypt, so that a stolen table cannot be searched for the 31^10 possible codes in the days a
# code lives (about 20 ms a hash here); a fixed salt, because a code is looked up by its hash.
_SALT = b"kaohe-invite-code"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize(code: str) -> str:
    return clean_text(code).strip().upper()


def code_hash(code: str) -> str:
    digest = hashlib.scrypt(normalize(code).encode(), salt=_SALT, n=2**13, r=8, p=1, dklen=32)
    return digest.hex()


@dataclass(frozen=True)
class IssuedInvite:
    """What the admin is shown once: the code itself, and the stored invite."""

    code: str
    invite: InviteCode

    @property
    def expires_at(self) -> datetime:
        return self.invite.expires_at


def issue_invite(ctx: Ctx, actor_id: int, cadre_id: int, ttl_days: int = 14) -> IssuedInvite:
    who = actor(ctx, actor_id)
    require_admin(who, "invite.issue", "cadre", cadre_id)
    cadre = load(ctx, Cadre, cadre_id)
    code = new_code()
    invite = InviteCode(code_hash=code_hash(code), cadre_id=cadre.id or 0, created_by=who.id,
                        created_at=ctx.now, expires_at=ctx.now + timedelta(days=ttl_days))
    ctx.session.add(invite)
    ctx.session.flush()
    audit.record(ctx, who.id, "invite.issue", invite, after=_public(invite),
                 cadre_id=cadre.id, unit_id=cadre.unit_id)
    return IssuedInvite(code, invite)


def _public(invite: InviteCode) -> dict[str, object]:
    """What the audit log keeps of an invite: everything but its hash."""
    snapshot = audit.snapshot(invite) or {}
    return {name: value for name, value in snapshot.items() if name != "code_hash"}


def _failed(ctx: Ctx, code: str, telegram_user_id: int, invite: InviteCode | None) -> Refused:
    """A refusal that is audited and counted against the account, though nothing else changes."""
    return Refused(code, audit=True, entity="invite_code",
                   entity_id=None if invite is None else invite.id,
                   keep=(InviteFailure(telegram_user_id=telegram_user_id, at=ctx.now),),
                   telegram_user_id=telegram_user_id)


def _check_attempts(ctx: Ctx, telegram_user_id: int) -> None:
    recent = list(ctx.session.exec(
        select(InviteFailure.at).where(InviteFailure.telegram_user_id == telegram_user_id,
                                       col(InviteFailure.at) > ctx.now - FAILURE_WINDOW)
        .order_by(col(InviteFailure.at).desc()).limit(MAX_FAILURES)
    ).all())
    if len(recent) >= MAX_FAILURES:
        free_at = recent[-1] + FAILURE_WINDOW  # when the oldest of them leaves the window
        minutes = max(1, math.ceil((free_at - ctx.now).total_seconds() / 60))
        raise Refused("invite_attempts_exceeded", audit=True, entity="invite_code",
                      minutes=minutes, telegram_user_id=telegram_user_id)


def redeem_invite(ctx: Ctx, code: str, telegram_user_id: int) -> Cadre:
    """Bind the Telegram account to the invite's cadre; unknown, used, expired codes are refused,
    and an account that failed too often recently is refused before its code is looked at."""
    _check_attempts(ctx, telegram_user_id)
    # Locked: of two people redeeming one code at once, the second waits and finds it used.
    invite = ctx.session.exec(
        select(InviteCode).where(InviteCode.code_hash == code_hash(code)).with_for_update()
    ).first()
    if invite is None:
        raise _failed(ctx, "invite_unknown", telegram_user_id, None)
    if invite.used_at is not None:
        raise _failed(ctx, "invite_used", telegram_user_id, invite)
    if invite.expires_at <= ctx.now:
        raise _failed(ctx, "invite_expired", telegram_user_id, invite)
    bound = ctx.session.exec(
        select(Cadre).where(Cadre.telegram_user_id == telegram_user_id)
    ).first()
    if bound is not None and bound.id != invite.cadre_id:
        raise Refused("telegram_already_bound", name=bound.name)
    cadre = load(ctx, Cadre, invite.cadre_id, for_update=True)
    if not cadre.active:
        raise _failed(ctx, "invite_unknown", telegram_user_id, invite)
    before = audit.snapshot(cadre)
    cadre.telegram_user_id = telegram_user_id
    invite.used_at = ctx.now
    invite.used_by_telegram_id = telegram_user_id
    audit.record(ctx, cadre.id, "invite.redeem", cadre, before=before, cadre_id=cadre.id,
                 unit_id=cadre.unit_id)
    return cadre


def issue_office_invite(ctx: Ctx, cadre_id: int, ttl_days: int = 14, *,
                        make_admin: bool = False) -> tuple[IssuedInvite, bool]:
    """An invite for an administrator, issued by the assessment office at the command line
    (`kaohe admin invite`), with no admin acting: the way into a fresh install. While the
    install has no active admin, the named cadre becomes its first; after that only an admin
    can be named, unless the office says `make_admin`. Returns the invite and whether the
    cadre was made an admin."""
    cadre = load(ctx, Cadre, cadre_id, for_update=True)
    if not cadre.active:
        raise Refused("invite_cadre_inactive", name=cadre.name)
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
    code = new_code()  # stored as its hash only, like every invite (issue_invite)
    invite = InviteCode(code_hash=code_hash(code), cadre_id=cadre.id or 0, created_by=None,
                        created_at=ctx.now, expires_at=ctx.now + timedelta(days=ttl_days))
    ctx.session.add(invite)
    ctx.session.flush()
    audit.record(ctx, None, "invite.issue", invite, after=_public(invite), cadre_id=cadre.id,
                 unit_id=cadre.unit_id)
    return IssuedInvite(code, invite), made
