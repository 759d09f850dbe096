"""The filter form's pickers: the folders and file types the store counted, and which of them this request's
parameters choose. A value of the URL's that is not among them (a subfolder, a type with no images, a
mistyped one) is offered too, chosen, so that the form shows what was asked."""

from __future__ import annotations

import os
from dataclasses import dataclass

from flask import request

from image_search.service.options import FilterChoices
from image_search.service.params import type_names
from image_search.web.params import types_param


@dataclass(frozen=True)
class Choice:
    value: str  # as the form sends it
    label: str
    count: int | None  # images with it; None for a value of the URL's that the store has none of
    chosen: bool


def folder_choices(choices: FilterChoices) -> list[Choice]:
    asked = request.args.get("folder", "").strip()
    roots = [
        Choice(root, root, count, os.path.normpath(asked) == root if asked else False)
        for root, count in choices.folders
    ]
    if asked and not any(c.chosen for c in roots):
        roots.insert(0, Choice(asked, asked, None, True))
    return roots


def type_choices(choices: FilterChoices) -> list[Choice]:
    asked = type_names(types_param())
    types = [Choice(name.lower(), name, count, name in asked) for name, count in choices.types]
    known = {name for name, _ in choices.types}
    return types + [Choice(name.lower(), name, None, True) for name in asked if name not in known]
