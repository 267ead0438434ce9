"""The templates' layout: ui/render.py sets Jinja's trim_blocks, which drops the line break
after a block tag. A line of text ending in an inline block ({% if %}…{% endif %}) therefore
runs into the next line unless an empty line follows it, as the templates write it (the review
card's title once ran into "汇报人：…")."""

from __future__ import annotations

import re

from ui.render import TEMPLATES_DIR

BLOCK_AT_THE_END = re.compile(r"{%-?\s*end(if|for)\s*-?%}$")
OPENS = re.compile(r"{%-?\s*(if|for)\b")
CLOSES = re.compile(r"{%-?\s*end(if|for)\b")


def test_a_line_of_text_ending_in_a_block_keeps_its_line_break() -> None:
    runs_on = []
    for template in sorted(TEMPLATES_DIR.glob("*.j2")):
        lines = template.read_text(encoding="utf-8").split("\n")
        for number, (line, after) in enumerate(zip(lines, [*lines[1:], ""], strict=True), 1):
            text_first = line.split("{%")[0].strip()
            whole_blocks = len(OPENS.findall(line)) >= len(CLOSES.findall(line))
            if BLOCK_AT_THE_END.search(line) and text_first and whole_blocks and after.strip():
                runs_on.append(f"{template.name}:{number}")
    assert runs_on == []
