"""The published JSON Schema and the parser agree on what a rule is."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from userops.core.errors import InvalidInput
from userops.segments.tree import parse_rule

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCHEMA = json.loads((DOCS / "segment-rule.schema.json").read_text(encoding="utf-8"))


def documented_rules() -> list[dict]:  # type: ignore[type-arg]
    text = (DOCS / "segments.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    examples = [json.loads(b) for b in blocks]
    table_rows = [line for line in text.splitlines() if line.startswith("| `")]
    for row in table_rows:  # the example column of the conditions table
        examples += [json.loads(cell) for cell in re.findall(r"`(\{.*\})`", row)]
    return examples


@pytest.mark.parametrize("rule", documented_rules())
def test_documented_rules_are_valid_for_both(rule: dict) -> None:  # type: ignore[type-arg]
    jsonschema.validate(rule, SCHEMA)
    parse_rule(rule)


@pytest.mark.parametrize(
    "rule",
    [
        {"all": []},
        {"tag": "lifecycle", "op": "like", "value": "x"},
        {"orders": "median", "value": 1},
        {"inactive": "order"},
        {"reachable": "fax"},
    ],
)
def test_invalid_rules_are_refused_by_both(rule: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rule, SCHEMA)
    if "reachable" in rule:
        return  # the channel is checked when compiling (see test_segments)
    with pytest.raises(InvalidInput):
        parse_rule(rule)
