"""The combined-query grammar: several weighted parts, some negative, some indexed images.

    query    := part (" + " part)*
    part     := [weight ":"] (("id:" IMAGE_ID) | words)
    words    := (word | "-" word | '-"' several words '"')+
    weight   := a number greater than 0 and at most 10, e.g. 2 or 0.5

A negative is a "-" at the start of a word, right before a letter, digit or quote: a dash between
words ("Tux and spider - two friends."), in a word (t-shirt) or before punctuation is text.

`beach sunset -people`  -> +1 "beach sunset", -1 "people"
`2:dog + cat`           -> +2 "dog", +1 "cat"
`id:3f2a... + at night` -> +1 the indexed image 3f2a..., +1 "at night"
A negative takes its part's weight. A plain query ("a red car") is one text part of weight 1.
Beside an image (an upload, "more like this") the image is the positive part, so "-people" alone is a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext

from image_search.errors import QueryError

MAX_WEIGHT = 10.0
MAX_PARTS = 8
WEIGHT = re.compile(r"^(\d+(?:\.\d+)?|\.\d+):")
NEGATIVE = re.compile(r'(?:(?<=\s)|^)-(?:"([^"]*)"|([^\W_]\S*))')


def dangling_minus(n: int) -> str:
    return gettext("Part %(n)s has a '-' with nothing after it: write -word or -\"two words\".", n=n)


@dataclass(frozen=True)
class Part:
    kind: str  # "text" or "id"
    value: str
    weight: float  # negative for things to avoid


@dataclass(frozen=True)
class ParsedQuery:
    parts: tuple[Part, ...]

    @property
    def is_plain_text(self) -> bool:
        """One unweighted text part: the model's low-confidence fallback applies only to these."""
        return len(self.parts) == 1 and self.parts[0].kind == "text" and self.parts[0].weight == 1.0

    @property
    def texts(self) -> list[str]:
        return [p.value for p in self.parts if p.kind == "text"]


def clean_query(text: str | None, max_chars: int, allow_empty: bool = False) -> str:
    """The one place a query's whitespace is normalised and its length checked (searches and /api/embed)."""
    text = " ".join((text or "").split())
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # JSON's "\ud800", an undecodable argv byte: the text models refuse it
        raise QueryError(
            gettext(
                "The query holds U+%(code)s, which is not a character (half of a UTF-16 surrogate "
                "pair, or a byte that is not UTF-8); send the text as UTF-8.",
                code=f"{ord(text[exc.start]):04X}",
            )
        ) from None
    if not text and not allow_empty:
        raise QueryError(gettext("Type a few words describing the picture you are looking for."))
    if len(text) > max_chars:
        raise QueryError(
            gettext("The query is too long (%(num)s characters; at most %(most)s).", num=len(text), most=max_chars)
        )
    return text


def parse(query: str, beside_image: bool = False) -> ParsedQuery:
    """Parts of a combined query already through clean_query (empty: no parts, e.g. beside an image),
    or a QueryError saying what is wrong and where. `beside_image`: an image is the query's positive part."""
    if not query:
        return ParsedQuery(())
    chunks = re.split(r"\s\+\s", f" {query} ")
    if len(chunks) > MAX_PARTS:
        raise QueryError(gettext("At most %(num)s parts joined by ' + '.", num=MAX_PARTS))
    parts: list[Part] = []
    for n, chunk in enumerate(chunks, 1):
        parts += _parse_part(chunk.strip(), n)
    if not beside_image and not any(p.weight > 0 for p in parts):
        raise QueryError(gettext("Add something to look for: a query cannot be only negatives (-word)."))
    return ParsedQuery(tuple(parts))


def _parse_part(chunk: str, n: int) -> list[Part]:
    if not chunk:
        raise QueryError(gettext("Part %(n)s of the query is empty: put words on both sides of ' + '.", n=n))
    weight = 1.0
    match = WEIGHT.match(chunk)
    if match:
        weight = float(match[1])
        if not 0 < weight <= MAX_WEIGHT:
            raise QueryError(
                gettext(
                    "Weight %(weight)s in part %(n)s: use a number above 0 and at most %(most)s.",
                    weight=match[1],
                    n=n,
                    most=f"{MAX_WEIGHT:g}",
                )
            )
        chunk = chunk[match.end() :].strip()
        if not chunk:
            raise QueryError(gettext("Weight %(weight)s: in part %(n)s has nothing after it.", weight=match[1], n=n))
    if chunk.startswith("id:"):
        image_id = chunk[3:]
        if not re.fullmatch(r"[0-9a-f]{6,64}", image_id):
            raise QueryError(
                gettext(
                    "'%(text)s' in part %(n)s: id: takes an indexed image's id, e.g. id:3f2a9c...", text=chunk[:40], n=n
                )
            )
        return [Part("id", image_id, weight)]
    if chunk.count('"') % 2:
        raise QueryError(gettext('Part %(n)s has an unclosed quote: write -"two words".', n=n))
    negatives = []
    for match in NEGATIVE.finditer(chunk):
        words = " ".join((match[1] if match[1] is not None else match[2]).split())
        if not words:
            raise QueryError(dangling_minus(n))
        negatives.append(Part("text", words, -weight))
    positive = " ".join(NEGATIVE.sub(" ", chunk).replace('"', " ").split())
    return ([Part("text", positive, weight)] if positive else []) + negatives
