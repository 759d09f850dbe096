"""WordNet 3.0's noun synsets, read from its data.noun (Debian wordnet-base: usr/share/wordnet/data.noun), for the
generators of image_search/data (bench/wordnet_classes.py, bench/dictionary_class_names.py)."""

from pathlib import Path
from typing import NamedTuple


class Synset(NamedTuple):
    words: list[str]  # its lemmas as written, spaces for "_", adjective markers such as "(a)" cut
    parents: list[str]  # the offsets of its hypernyms and instance hypernyms
    gloss: str  # the definition's first part (before the first ";", which starts the examples)


def read_nouns(data_noun: Path) -> dict[str, Synset]:
    """Synset offset -> Synset."""
    synsets: dict[str, Synset] = {}
    for line in open(data_noun, encoding="latin-1"):
        if line.startswith("  "):
            continue  # licence header
        head = line.split(" | ")[0].split()
        n = int(head[3], 16)
        words = [head[4 + 2 * i].replace("_", " ").split("(")[0] for i in range(n)]
        k = 4 + 2 * n
        pointers = head[k + 1 : k + 1 + 4 * int(head[k])]
        parents = [
            pointers[i + 1] for i in range(0, len(pointers), 4) if pointers[i] in ("@", "@i") and pointers[i + 2] == "n"
        ]
        synsets[head[0]] = Synset(words, parents, line.split(" | ", 1)[1].split(";")[0].strip())
    return synsets
