import pytest

from image_search.errors import QueryError
from image_search.inference.query import Part, clean_query, parse


def parse_raw(query: str, allow_empty: bool = False):
    """As the service does it: clean once, then parse."""
    return parse(clean_query(query, 300, allow_empty))


@pytest.mark.parametrize(
    "query, parts",
    [
        ("a red car", [Part("text", "a red car", 1.0)]),
        ("beach sunset -people", [Part("text", "beach sunset", 1.0), Part("text", "people", -1.0)]),
        (
            'beach -"red car" -dog',
            [Part("text", "beach", 1.0), Part("text", "red car", -1.0), Part("text", "dog", -1.0)],
        ),
        ("2:dog + cat", [Part("text", "dog", 2.0), Part("text", "cat", 1.0)]),
        ("0.5:dog -cat", [Part("text", "dog", 0.5), Part("text", "cat", -0.5)]),
        ("id:3f2a9c0d + at night", [Part("id", "3f2a9c0d", 1.0), Part("text", "at night", 1.0)]),
        ("3:id:3f2a9c0d", [Part("id", "3f2a9c0d", 3.0)]),
        ("t-shirt c++ dog+cat", [Part("text", "t-shirt c++ dog+cat", 1.0)]),  # no operators inside words
        # a dash between words, or before punctuation, is text: only -word at a word's start negates
        ("Tux and spider - two friends.", [Part("text", "Tux and spider - two friends.", 1.0)]),
        ("dog - cat", [Part("text", "dog - cat", 1.0)]),
        ("- dog -", [Part("text", "- dog -", 1.0)]),
        ("1990 -- 2000 -.", [Part("text", "1990 -- 2000 -.", 1.0)]),
        ("dog -2020", [Part("text", "dog", 1.0), Part("text", "2020", -1.0)]),
        ("눈 덮인 산 -사람", [Part("text", "눈 덮인 산", 1.0), Part("text", "사람", -1.0)]),
        ("  lots   of\tspace  ", [Part("text", "lots of space", 1.0)]),
    ],
)
def test_parses(query, parts):
    assert list(parse_raw(query).parts) == parts


def test_plain_text_is_flagged_for_the_low_confidence_fallback():
    assert parse("a dog").is_plain_text
    assert not parse("a dog -cat").is_plain_text and not parse("2:dog").is_plain_text


@pytest.mark.parametrize(
    "query, message",
    [
        ("", "Type a few words"),
        ("dog +", "Part 2 of the query is empty"),
        ("+ dog", "Part 1 of the query is empty"),
        ("-people", "only negatives"),
        ("0:dog", "above 0"),
        ("11:dog", "at most 10"),
        ("2:", "nothing after"),
        ('dog -"red car', "unclosed quote"),
        ('dog -""', "'-' with nothing"),
        ("id:../etc", "id: takes an indexed image"),
        (" + ".join(["a"] * 9), "At most 8 parts"),
    ],
)
def test_errors_say_what_is_wrong(query, message):
    with pytest.raises(QueryError, match=message):
        parse_raw(query)


def test_empty_is_allowed_beside_an_image():
    assert parse_raw("  ", allow_empty=True).parts == ()


@pytest.mark.parametrize("query", ["-people", '-people -"red car"', "2:-dog"])
def test_only_negatives_are_allowed_beside_an_image(query):
    """The image is the positive part (an upload, image results, more like this)."""
    parsed = parse(clean_query(query, 300, allow_empty=True), beside_image=True)
    assert parsed.parts and all(p.weight < 0 for p in parsed.parts)
    with pytest.raises(QueryError, match="only negatives"):
        parse(clean_query(query, 300))
