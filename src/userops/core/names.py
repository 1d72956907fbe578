"""Which names a user may give to custom attributes and event properties.

A name typed by a user (a file's ``attr_*`` header, a ``--map`` target, a rule's
``attributes.<key>``, an event property in a filter or a breakdown) ends up as a column name, a
JSON object key or a JSON path. Quoting (``core.sql``) keeps such a name from becoming SQL, but a
JSON path has its own syntax (``.``, ``[``, ``*``, ``\\``, ``"``), and a name with a quote or a
control character is never what the user meant. So names are checked against one documented
pattern before they reach a query, and a bad one is refused with the field that holds it:

- attribute names: letters (any script, CJK included), digits and ``_``, 1 to 64 characters;
- event property names: the same, plus ``$``, ``-`` and spaces (SDKs send ``$current_url``,
  ``utm-source``, ``Product Name``), 1 to 64 characters.

Neither pattern admits ``"`` or ``\\``, so :func:`json_path` can quote any accepted name.
"""

from __future__ import annotations

import re

from userops.core.errors import InvalidInput

MAX_NAME = 64
_ATTRIBUTE = re.compile(r"\w{1,64}")
_PROPERTY = re.compile(r"[\w$\- ]{1,64}")
ATTRIBUTE_RULE = "letters, digits and _ (CJK included), at most 64 characters"
PROPERTY_RULE = "letters, digits, _, $, - and spaces (CJK included), at most 64 characters"


def is_attribute_name(name: str) -> bool:
    return bool(_ATTRIBUTE.fullmatch(name))


def is_property_name(name: str) -> bool:
    return bool(_PROPERTY.fullmatch(name))


def check_attribute_name(name: str, *, field: str, where: str = "") -> str:
    """``name`` if it is a valid custom attribute name; else InvalidInput naming ``field``."""
    if not isinstance(name, str) or not is_attribute_name(name):
        raise InvalidInput(
            f"{where or 'attribute name'} {name!r}: a custom attribute name takes {ATTRIBUTE_RULE}",
            field=field,
        )
    return name


def check_property_name(name: str, *, field: str, where: str = "") -> str:
    """``name`` if it is a valid event property name; else InvalidInput naming ``field``."""
    if not isinstance(name, str) or not is_property_name(name):
        raise InvalidInput(
            f"{where or 'property name'} {name!r}: a property name takes {PROPERTY_RULE}",
            field=field,
        )
    return name


def json_path(name: str) -> str:
    """The JSON path of the top-level key ``name`` (``$."name"``), for a name that passed one of
    the checks above. Quoted, so ``.``, ``$`` or spaces in a name never read another key."""
    if not (is_attribute_name(name) or is_property_name(name)):
        raise ValueError(f"not a checked name: {name!r}")
    return '$."' + name + '"'
