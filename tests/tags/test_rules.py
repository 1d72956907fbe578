"""The pure rules behind the tags."""

from __future__ import annotations

import itertools

from userops.tags import rules


def test_every_rfm_score_has_a_segment_by_an_explicit_rule() -> None:
    seen = set()
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        fm = (f + m + 1) // 2
        matching = [
            name
            for name, (rl, rh), (fl, fh) in rules.RFM_SEGMENT_RULES
            if rl <= r <= rh and fl <= fm <= fh
        ]
        assert matching, (r, f, m)  # never the fallback
        seen.add(rules.rfm_segment(r, f, m))
    assert seen == set(rules.RFM_SEGMENTS)
    assert rules.rfm_segment(5, 5, 5) == "champions"
    assert rules.rfm_segment(1, 1, 1) == "lost"
    assert rules.rfm_segment(1, 5, 5) == "cannot_lose"


def test_chinese_scheme_covers_all_eight() -> None:
    classes = {rules.rfm_cn(r, f, m) for r, f, m in itertools.product((True, False), repeat=3)}
    assert classes == set(rules.RFM_CN)
    assert rules.rfm_cn(True, True, True) == "important_value"
    assert rules.rfm_cn(False, False, True) == "important_winback"
    assert set(rules.RFM_CN_LABELS) == set(rules.RFM_CN)


def test_city_tier_table() -> None:
    tiers = rules.city_tiers()
    assert tiers["北京"] == "一线" and tiers["成都"] == "新一线" and tiers["拉萨"] == "五线"
    assert set(tiers.values()) == set(rules.CITY_TIERS)
