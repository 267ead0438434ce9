"""Refusals: what an actor may not do, or input the rules do not accept.

A refusal carries a code and parameters, never a sentence: handlers and the command line turn
`code` into the user's language through locales/ (message id "refused.<code>").
"""

from typing import Any


class Refused(Exception):
    """The operation was refused and changed nothing."""

    def __init__(
        self,
        code: str,
        *,
        audit: bool = False,
        actor_id: int | None = None,
        entity: str | None = None,
        entity_id: int | None = None,
        keep: tuple[Any, ...] = (),
        **params: Any,
    ) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params
        # An attempt the actor had no right to make (a forged callback, say) is audited even
        # though the operation itself changed nothing.
        self.audit = audit
        self.actor_id = actor_id
        self.entity = entity
        self.entity_id = entity_id
        # Rows written although the operation is rolled back, with its audit row (a failed
        # invite redemption is counted so that guessing can be limited).
        self.keep = keep

    def __str__(self) -> str:
        details = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.code}({details})" if details else self.code


class NotFound(Refused):
    def __init__(self, entity: str, entity_id: object) -> None:
        super().__init__("not_found", what=entity, id=entity_id)


class Forbidden(Refused):
    """The actor has no right to this action; always audited."""

    def __init__(self, actor_id: int | None, action: str, entity: str, entity_id: int | None):
        super().__init__(
            "forbidden", audit=True, actor_id=actor_id, entity=entity, entity_id=entity_id,
            action=action,
        )
