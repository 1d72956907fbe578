"""Guess you like: a customer's ranked products, served from the in-memory index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from userops.api.deps import AUTH_ERRORS, HubDep, ReadKey
from userops.api.errors import responses
from userops.recommend import service as recommend
from userops.recommend.schemas import CustomerRecommendations

router = APIRouter(prefix="/api/v1/customers", tags=["recommend"], responses=AUTH_ERRORS)


@router.get(
    "/{customer_id}/recommendations",
    response_model=CustomerRecommendations,
    responses=responses(400, 404, 409),
)
async def get_recommendations(
    customer_id: str,
    hub: HubDep,
    _key: ReadKey,
    k: Annotated[int, Query(ge=1, le=recommend.MAX_K, description="How many products")] = 10,
) -> CustomerRecommendations:
    return recommend.recommendations(hub.warehouse, customer_id, k=k)
