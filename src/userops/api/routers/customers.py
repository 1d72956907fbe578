from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from userops.api.deps import AUTH_ERRORS, HubDep, ReadKey, SessionDep
from userops.api.errors import responses
from userops.customers import service as customers
from userops.customers.schemas import Customer360, CustomerSummary

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], responses=AUTH_ERRORS)


@router.get("", response_model=list[CustomerSummary], responses=responses(400))
def search_customers(
    session: SessionDep,
    _key: ReadKey,
    query: Annotated[str, Query(max_length=200, description="id, phone, email or name")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[CustomerSummary]:
    return customers.search(session, query, limit=limit)


@router.get("/{customer_id}", response_model=Customer360, responses=responses(404))
def get_customer(customer_id: str, session: SessionDep, hub: HubDep, _key: ReadKey) -> Customer360:
    return customers.customer_360(session, hub.warehouse, customer_id)
