"""The words of a file's path as the name fallback compares them: letters and digits, lower case,
without accents ("Café_2023.JPG": café→cafe, 2023, jpg). The embedded store's FTS5 tokenizer does the
same by itself (unicode61, remove_diacritics 2); the Elasticsearch store indexes these words."""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[^\W_]+")  # "_" separates words, as in the query


def name_words(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return WORD.findall("".join(c for c in decomposed if not unicodedata.combining(c)))
