"""Per-customer predictions: expected orders, P(alive), expected order value, CLV, churn risk."""

from __future__ import annotations

from fastapi import APIRouter

from userops.api.deps import HubDep, ReadKey
from userops.predict import service as predict
from userops.predict.schemas import CustomerScore

router = APIRouter(prefix="/api/v1/customers", tags=["predict"])


@router.get("/{customer_id}/scores", response_model=CustomerScore)
def get_scores(customer_id: str, hub: HubDep, _key: ReadKey) -> CustomerScore:
    return predict.show(hub.warehouse, customer_id)
