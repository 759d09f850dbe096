from image_search.service.ranking import View, cutoff, shape
from image_search.stores import Hit, ImageRecord


def hit(score, taken_at, name):
    return Hit(ImageRecord(f"/p/{name}", "/p", 1, 1, 1, 1, taken_at, "PNG"), score)


def test_cut_after_a_drop_that_stands_out():
    assert cutoff([0.9, 0.88, 0.87, 0.5, 0.49, 0.48]) == 3


def test_no_cut_on_an_even_curve_or_too_few_hits():
    assert cutoff([0.9, 0.8, 0.7, 0.6, 0.5]) == 5
    assert cutoff([0.9, 0.1]) == 2 and cutoff([]) == 0
    assert cutoff([0.5, 0.5, 0.5]) == 3


def test_shape_hides_the_tail_unless_show_all_and_sorts_by_date_within_the_relevant():
    hits = [
        hit(0.9, 1, "old"),
        hit(0.88, 3, "new"),
        hit(0.87, 2, "mid"),
        hit(0.2, 9, "tail1"),
        hit(0.19, 8, "tail2"),
        hit(0.18, 7, "tail3"),
    ]
    shown, cut = shape(hits, View())
    assert cut == 3 and [h.record.name for h in shown] == ["old", "new", "mid"]
    shown, _ = shape(hits, View(sort="date"))
    assert [h.record.name for h in shown] == ["new", "mid", "old"]
    shown, cut = shape(hits, View(sort="date", show_all=True))
    assert cut == 3 and [h.record.name for h in shown][:2] == ["tail1", "tail2"] and len(shown) == 6
