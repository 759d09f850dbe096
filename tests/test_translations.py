"""No untranslated string can slip in: every message marked in the sources (Babel's extraction over babel.cfg)
has a Korean translation that is not fuzzy, keeps the same placeholders, and compiles."""

from __future__ import annotations

import re

import pytest

from tests.catalogs import extracted_messages, po_files, read_catalog

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]|\{\w+\}")
EXPECTED_LOCALES = {"ko"}


def test_there_is_a_catalog_for_each_interface_language():
    assert {po.parent.parent.name for po in po_files()} == EXPECTED_LOCALES


def test_extraction_finds_the_interface_messages():
    messages = extracted_messages()
    # one from a template, one from Python, one plural, one lazy (a form label): extraction reads all four kinds
    assert "Search with an image" in messages and "Not a usable image: %(reason)s" in messages
    assert ("%(num)s image", "%(num)s images") in messages and "Add words (optional)" in messages


@pytest.mark.parametrize("po", po_files(), ids=lambda po: po.parent.parent.name)
def test_every_message_is_translated(po):
    catalog = read_catalog(po)
    problems = []
    for msgid, where in sorted(extracted_messages().items(), key=str):
        entry = catalog.get(msgid if isinstance(msgid, str) else msgid[0])
        strings = [] if entry is None else [entry.string] if isinstance(entry.string, str) else list(entry.string)
        if entry is None or not all(strings):
            problems.append(f"untranslated ({where}): {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy ({where}): {msgid!r}")
        else:
            wanted = sorted(PLACEHOLDER.findall(msgid if isinstance(msgid, str) else msgid[0]))
            problems += [
                f"placeholders differ: {msgid!r} -> {s!r}" for s in strings if sorted(PLACEHOLDER.findall(s)) != wanted
            ]
    assert not problems, f"{po}: run `make messages`, then translate:\n" + "\n".join(problems)


@pytest.mark.parametrize("po", po_files(), ids=lambda po: po.parent.parent.name)
def test_catalog_has_no_errors(po):
    catalog = read_catalog(po)
    assert not [(m.id, errors) for m, errors in catalog.check()]
