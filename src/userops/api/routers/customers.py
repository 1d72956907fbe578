from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from userops.api.deps import AUTH_ERRORS, ActorDep, HubDep, SessionDep, need
from userops.api.errors import responses
from userops.audit import service as audit
from userops.auth.roles import Permission
from userops.auth.schemas import KeyRead
from userops.customers import consent, erasure
from userops.customers import service as customers
from userops.customers.schemas import (
    ConsentChanged,
    ConsentWrite,
    Customer360,
    CustomerSummary,
    ErasureResult,
)

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], responses=AUTH_ERRORS)
ReadKey = Annotated[KeyRead, need(Permission.CUSTOMERS_READ)]
EraseKey = Annotated[KeyRead, need(Permission.CUSTOMERS_ERASE)]
ConsentKey = Annotated[KeyRead, need(Permission.CONSENT_WRITE)]


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


@router.delete("/{customer_id}", response_model=ErasureResult, responses=responses(404))
def erase_customer(
    customer_id: str, request: Request, hub: HubDep, key: EraseKey, actor: ActorDep
) -> ErasureResult:
    """Erase the person everywhere (PIPL art. 47, GDPR art. 17). Their ids and contact points
    are kept only as keyed hashes, so re-imports and tracked events of theirs are refused."""
    result = erasure.erase(
        engine=hub.engine,
        warehouse=hub.warehouse,
        data_dir=hub.settings.resolved_data_dir,
        customer_id=customer_id,
        requested_by=f"api:{key.prefix}",
        erasure_key=hub.settings.erasure_key,
        tracker=getattr(request.app.state, "tracker", None),
    )
    audit.record_now(
        # the person by the keyed hash the erasure keeps, never by the erased id
        hub.engine,
        actor,
        "customer.erase",
        target=result["subject"],
        after={"removed": result["removed"]},
    )
    return ErasureResult.model_validate(result)


@router.post(
    "/{customer_id}/consents", response_model=ConsentChanged, responses=responses(400, 404)
)
def record_consent(
    customer_id: str, body: ConsentWrite, hub: HubDep, _key: ConsentKey, actor: ActorDep
) -> ConsentChanged:
    """Record a grant or withdrawal with its source and time; segments' ``reachable`` sees it
    as soon as this answers."""
    survivor, current = consent.record_now(
        hub.engine,
        hub.warehouse,
        customer_id,
        channel=body.channel,
        status=body.status,
        source=body.source,
        at=body.at,
    )
    audit.record_now(
        hub.engine,
        actor,
        "customer.consent",
        target=survivor,
        after={"channel": body.channel, "status": body.status, "source": body.source},
    )
    return ConsentChanged(customer_id=survivor, consents=current)
