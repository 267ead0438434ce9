"""The simulated Telegram kept in a folder, so that a restarted sandbox talks to the same Telegram.

Telegram's servers outlive the bot: update ids keep growing (the bot drops an id it has handled
before), chats keep their history and their menu keyboard, and a file id stays valid. The
sandbox saves its world after each thing the user does and when it quits, and loads it on start:

    <folder>/telegram.json      people, chats, messages, file records, counters
    <folder>/files/<file_path>  the content of each file, as getFile names it
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from sandbox.sim_state import SimChat, SimMessage, SimUser, StoredFile
from sandbox.sim_world import SimWorld

STATE_FILE = "telegram.json"
FILES = "files"
VERSION = 1


def save_world(world: SimWorld, folder: Path) -> None:
    """Write the world to `folder` (the state file replaced at once, never half-written)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stored in world.files.values():
        path = folder / FILES / stored.file_path
        if not path.exists():  # file contents never change: each is written once
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(stored.content)
    state = {
        "version": VERSION,
        "next_update_id": world.next_update_id,
        "next_serial": world.next_serial,
        "users": [asdict(user) for user in world.users.values()],
        "chats": [asdict(chat) for chat in world.chats.values()],
        "messages": [asdict(m) for messages in world.history.values() for m in messages],
        "files": [{k: v for k, v in asdict(f).items() if k != "content"}
                  for f in world.files.values()],
        "commands": [[scope, language, listed]
                     for (scope, language), listed in world.commands.items()],
    }
    temporary = folder / (STATE_FILE + ".tmp")
    temporary.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, folder / STATE_FILE)


def load_world(world: SimWorld, folder: Path) -> bool:
    """Fill an empty world from `folder`; False when nothing (or nothing readable) is there."""
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if state.get("version") != VERSION:
        return False
    world.next_update_id = int(state["next_update_id"])
    world.next_serial = int(state["next_serial"])
    world.users = {u["user_id"]: SimUser(**_known(SimUser, u)) for u in state["users"]}
    world.chats = {c["chat_id"]: SimChat(**_known(SimChat, c)) for c in state["chats"]}
    world.history = {chat_id: [] for chat_id in world.chats}
    for data in state["messages"]:
        world.history.setdefault(data["chat_id"], []).append(SimMessage(**_known(SimMessage,
                                                                                  data)))
    world.index_messages()
    for data in state["files"]:
        path = folder / FILES / data["file_path"]
        if path.exists():  # a file whose content is gone is as good as unknown
            world.files[data["file_id"]] = StoredFile(content=path.read_bytes(),
                                                      **_known(StoredFile, data))
    world.commands = {(scope, language): listed for scope, language, listed in state["commands"]}
    return True


def _known(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    """The fields `kind` has (a state file from an older simulator may hold others)."""
    names = {f.name for f in fields(kind)} - {"content"}
    return {k: v for k, v in data.items() if k in names}
