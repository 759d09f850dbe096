"""Regenerate image_search/data/imagenet-1k-names-{ko,ja,de,fr}.txt from Unicode CLDR's emoji annotations.

    npm pack cldr-annotations-full@48.2.0 && tar xzf cldr-annotations-full-48.2.0.tgz
    python bench/cldr_class_names.py package/annotations

CLDR names each emoji in every language ("tiger" / "호랑이" / "トラ" / "Tiger" / "tigre") and gives it English
keywords. An emoji whose English name (its `tts` entry) or one of whose English keywords equals one of an
ImageNet class's WordNet synonyms, or one of the names of its WordNet parents or grandparents
(image_search/data/imagenet-1k-hypernyms.txt), gives that class the emoji's name in each language at that
level. Keywords count only when at most KEYWORD_EMOJI emoji share them: "food" or "animal" would give a class dozens
of names, whose mean then matches any text in that language (measured on the tuning split, e5 alone: names only
ko MRR .151, with keywords shared by <= 4 emoji .174, with every keyword .176 but Korean gibberish at cosine .45).
A line per class (logit order): names | parents' names | grandparents' names, comma-separated, empty where no
emoji matched. e5 matches a Korean query far better against Korean names than against English ones ("호랑이" is
nearer "howler monkey" than "tiger" for it). The tuning split: bench/tune_offline.py --split.
"""

import json
import sys
from pathlib import Path

from image_search.embedders.offline.bridge import FOREIGN_LANGUAGES, load_class_names, load_hypernyms, names_file

annotations = Path(sys.argv[1])


KEYWORD_EMOJI = 4


def load(lang: str, field: str = "tts") -> dict[str, list[str]]:
    """emoji -> its spoken names (field "tts") or its keywords ("default") in `lang`."""
    data = json.loads((annotations / lang / "annotations.json").read_text(encoding="utf-8"))
    return {emoji: a[field] for emoji, a in data["annotations"]["annotations"].items() if a.get("tts") and a.get(field)}


def emoji_by(names: dict[str, list[str]]) -> dict[str, list[str]]:
    """lower-case English word -> the emoji it names."""
    out: dict[str, list[str]] = {}
    for emoji, words in names.items():
        for word in words:
            out.setdefault(word.lower(), []).append(emoji)
    return out


emoji_by_name = emoji_by(load("en"))
for word, emoji in emoji_by(load("en", "default")).items():
    if len(emoji) <= KEYWORD_EMOJI:
        emoji_by_name[word] = list(dict.fromkeys(emoji_by_name.get(word, []) + emoji))

levels = [[synonyms, *hypernyms] for synonyms, hypernyms in zip(load_class_names(), load_hypernyms(), strict=True)]
for lang in FOREIGN_LANGUAGES:
    translated = load(lang)
    lines = []
    for class_levels in levels:
        row = []
        for names in class_levels:
            found = [translated[e][0] for n in names for e in emoji_by_name.get(n.lower(), []) if e in translated]
            row.append(", ".join(dict.fromkeys(found)))
        lines.append(" | ".join(row))
    names_file(lang).write_text("\n".join(lines) + "\n", encoding="utf-8")
    named = sum(1 for line in lines if line.replace("|", "").strip())
    print(f"{lang}: {named} classes named", file=sys.stderr)
