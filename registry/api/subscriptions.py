"""Event subscriptions of an alliance and their deliveries (docs/api.md,
"Subscriptions and deliveries"): make one (its signing secret is in this answer only),
list, read, delete, the deliveries with each attempt, and a redelivery on demand.
Managers and admins see every subscription of the alliance; a partner its own."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, delete, get, post
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from registry.api.access import authorize, registry
from registry.api.bodies import decoded, where
from registry.api.openapi import json_body, problems
from registry.events import EVENT_TYPES
from registry.service.events import Delivery, NewSubscription, Subscription

SUBSCRIPTION = Schema(
    type=OpenAPIType.OBJECT,
    required=["callback", "events"],
    properties={
        "callback": Schema(
            type=OpenAPIType.STRING,
            description="an https URL (http only to the hosts REGISTRY_WEBHOOK_ALLOW names)",
        ),
        "events": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(type=OpenAPIType.STRING, enum=list(EVENT_TYPES)),
        ),
    },
)


class SubscriptionController(Controller):
    path = "/v1/alliances/{alliance:str}/subscriptions"
    tags = ["events"]

    @post(
        "/",
        summary="Subscribe a callback URL to events of the alliance",
        description="The answer holds the signing secret (Standard Webhooks, `whsec_...`), "
        "shown this once. A partner's subscription receives only the events that name "
        "its partner. A callback the rules refuse is 422 at `$.callback`.",
        status_code=HTTP_201_CREATED,
        operation_class=json_body(SUBSCRIPTION, '{"callback": URL, "events": [TYPE, ...]}'),
        responses=problems(400, 403, 404, 413, 422),
    )
    async def subscribe(
        self, request: Request[Any, Any, Any], alliance: FromPath[str]
    ) -> NewSubscription:
        principal = authorize(request, "subscribe", alliance)
        body = decoded(await request.body(), Any, where(request))
        subscriptions = registry(request).subscriptions
        # Resolving the callback's host may take a while: off the event loop.
        return await anyio.to_thread.run_sync(subscriptions.subscribe, principal, alliance, body)

    @get(
        "/",
        summary="The alliance's subscriptions (a partner's: its own)",
        responses=problems(403, 404),
    )
    async def list_subscriptions(
        self, request: Request[Any, Any, Any], alliance: FromPath[str]
    ) -> list[Subscription]:
        principal = authorize(request, "subscribe", alliance)
        return await anyio.to_thread.run_sync(
            registry(request).subscriptions.listed, principal, alliance
        )

    @get("/{subscription:str}", summary="One subscription", responses=problems(403, 404))
    async def get_subscription(
        self, request: Request[Any, Any, Any], alliance: FromPath[str], subscription: FromPath[str]
    ) -> Subscription:
        principal = authorize(request, "subscribe", alliance)
        return await anyio.to_thread.run_sync(
            registry(request).subscriptions.get, principal, alliance, subscription
        )

    @delete(
        "/{subscription:str}",
        summary="Delete a subscription and its deliveries",
        status_code=HTTP_204_NO_CONTENT,
        responses=problems(403, 404),
    )
    async def delete_subscription(
        self, request: Request[Any, Any, Any], alliance: FromPath[str], subscription: FromPath[str]
    ) -> None:
        principal = authorize(request, "subscribe", alliance)
        await anyio.to_thread.run_sync(
            registry(request).subscriptions.delete, principal, alliance, subscription
        )

    @get(
        "/{subscription:str}/deliveries",
        summary="The subscription's deliveries, newest first, with every attempt",
        responses=problems(400, 403, 404),
    )
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        subscription: FromPath[str],
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[Delivery]:
        principal = authorize(request, "subscribe", alliance)
        return await anyio.to_thread.run_sync(
            registry(request).subscriptions.deliveries, principal, alliance, subscription, limit
        )

    @post(
        "/{subscription:str}/deliveries/{delivery:str}/redeliver",
        summary="Deliver again (same webhook-id); takes a failing subscription up again",
        status_code=HTTP_202_ACCEPTED,
        responses=problems(403, 404),
    )
    async def redeliver(
        self,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        subscription: FromPath[str],
        delivery: FromPath[str],
    ) -> Response[Delivery]:
        principal = authorize(request, "subscribe", alliance)
        found = await anyio.to_thread.run_sync(
            registry(request).subscriptions.redeliver, principal, alliance, subscription, delivery
        )
        return Response(found, status_code=HTTP_202_ACCEPTED)
