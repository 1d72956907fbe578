"""Errors of the recommend domain."""

from __future__ import annotations

from userops.core.errors import Conflict, InvalidInput, NotFound


class NotTrained(Conflict):
    code = "recommend.not_trained"


class UnknownCustomer(NotFound):
    code = "recommend.customer_not_found"


class NotEnoughBehaviour(InvalidInput):
    code = "recommend.insufficient_data"
    status = 422
