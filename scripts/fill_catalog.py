"""Fill untranslated zh_CN entries from a Python file holding `ZH = {msgid: translation}`.

    python scripts/fill_catalog.py translations.py && python scripts/i18n.py

A plural msgid is a (singular, plural) tuple mapped to a 1-tuple (Chinese has one form).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "src" / "laoke"


def fill(table: dict) -> int:
    filled = 0
    for path in sorted(ROOT.glob("*/locale/zh_CN.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="zh_CN")
        changed = False
        for message in catalog:
            if not message.id:
                continue
            current = message.string
            empty = not all(current) if isinstance(current, tuple | list) else not current
            if empty and message.id in table:
                message.string = table[message.id]
                changed = True
                filled += 1
        if changed:
            with path.open("wb") as handle:
                write_po(
                    handle,
                    catalog,
                    width=0,
                    omit_header=True,
                    sort_output=True,
                    include_lineno=False,
                )
    return filled


if __name__ == "__main__":
    namespace = runpy.run_path(sys.argv[1])
    print(f"filled {fill(namespace['ZH'])} entries")
