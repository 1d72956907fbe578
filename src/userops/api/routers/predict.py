"""Per-customer predictions: expected orders, P(alive), expected order value, CLV, churn risk."""

from __future__ import annotations

from fastapi import APIRouter

from userops.api.deps import AUTH_ERRORS, HubDep, ReadKey
from userops.api.errors import responses
from userops.predict import service as predict
from userops.predict.schemas import CustomerScore

router = APIRouter(prefix="/api/v1/customers", tags=["predict"], responses=AUTH_ERRORS)


@router.get("/{customer_id}/scores", response_model=CustomerScore, responses=responses(404, 409))
def get_scores(customer_id: str, hub: HubDep, _key: ReadKey) -> CustomerScore:
    return predict.show(hub.warehouse, customer_id)
