"""Guess you like: a customer's ranked products, served from the in-memory index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from userops.api.deps import HubDep, ReadKey
from userops.recommend import service as recommend
from userops.recommend.schemas import CustomerRecommendations

router = APIRouter(prefix="/api/v1/customers", tags=["recommend"])


@router.get("/{customer_id}/recommendations", response_model=CustomerRecommendations)
async def get_recommendations(
    customer_id: str,
    hub: HubDep,
    _key: ReadKey,
    k: Annotated[int, Query(ge=1, le=recommend.MAX_K, description="How many products")] = 10,
) -> CustomerRecommendations:
    return recommend.recommendations(hub.warehouse, customer_id, k=k)
