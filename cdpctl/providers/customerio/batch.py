"""`/api/v2/batch`: packing entities under the count and size limits, and reading the
multistatus answer back into one `ItemResult` per event (reference §4)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from cdpctl import jsonwire
from cdpctl.providers.base import (
    ActionContext,
    ItemResult,
    Reply,
    Request,
    RequestPlan,
    is_retryable,
    unanswered,
)
from cdpctl.providers.customerio.api import (
    BATCH,
    DEFAULT_BATCH_EVENTS,
    ENTITY,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    error_detail,
    failure,
    headers,
    track_host,
)

Entity = dict[str, Any]
_ENVELOPE_BYTES = len(b'{"batch":[]}')


def batch_size(payload: dict[str, Any]) -> int:
    """Segment's `batch_size` field (2–100, default 50) caps the events per request."""
    size = payload.get("batch_size", DEFAULT_BATCH_EVENTS)
    if isinstance(size, bool) or not isinstance(size, (int, float)):
        return DEFAULT_BATCH_EVENTS
    return max(1, min(MAX_BATCH_EVENTS, int(size)))


def pack(
    sizes: list[int], max_events: int, max_bytes: int = MAX_BATCH_BYTES
) -> tuple[list[list[int]], list[int]]:
    """Greedy, order-keeping chunks of item indexes whose `{"batch":[…]}` body fits
    `max_bytes`; also the indexes of items too large for any batch."""
    chunks: list[list[int]] = []
    oversized: list[int] = []
    current: list[int] = []
    used = _ENVELOPE_BYTES
    for index, size in enumerate(sizes):
        if _ENVELOPE_BYTES + size > max_bytes:
            oversized.append(index)
            continue
        extra = size + (1 if current else 0)
        if current and (len(current) >= max_events or used + extra > max_bytes):
            chunks.append(current)
            current, used, extra = [], _ENVELOPE_BYTES, size
        current.append(index)
        used += extra
    if current:
        chunks.append(current)
    return chunks, oversized


def read_multistatus(reply: Reply, count: int) -> list[ItemResult]:
    """Per-event results of a 2xx batch answer: indexes listed in `errors[]` failed (for
    good), every other event succeeded; indexes outside the batch are ignored."""
    body = reply.json
    errors = body.get("errors") if isinstance(body, dict) else None
    failed: dict[int, list[str]] = {}
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        index = error.get("batch_index")
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < count:
            text = error.get("message") or error.get("reason") or "Unknown error"
            failed.setdefault(index, []).append(str(text))
    return [
        ItemResult(False, 400, "; ".join(failed[index]))
        if index in failed
        else ItemResult(True, reply.status)
        for index in range(count)
    ]


@cache
def final_statuses() -> frozenset[int]:
    """Error statuses the transport does not retry. Batch requests also see the transient ones
    once the transport's attempts run out (`sees_failure`), so one failed chunk fails only its
    events, never those of chunks Customer.io already took."""
    return frozenset(s for s in range(400, 600) if not is_retryable(s))


def _whole_failure(reply: Reply) -> ItemResult:
    """Every event of one request failed: refused for good, still failing when the transport's
    attempts ran out, or never answered at all (status 0). Not retryable: the transport has
    already spent the attempts on it."""
    if reply.status == 0:
        return unanswered(reply, "Customer.io")
    if reply.status >= 400 and reply.status not in final_statuses():
        detail = error_detail(reply)
        suffix = f": {detail}" if detail else ""
        return ItemResult(
            False,
            reply.status,
            f"Customer.io answered HTTP {reply.status} on the last attempt{suffix}",
        )
    return ItemResult(False, reply.status, failure(reply).reason)


def make_plan_batch(
    build: Callable[[dict[str, Any]], Entity], *, split_by_action: bool = False
) -> Callable[[list[dict[str, Any]], ActionContext], RequestPlan]:
    """A `plan_batch` for an action whose events become entities through `build`.

    `split_by_action` sends one batch per entity action (createUpdateObject's `identify` and
    `identify_anonymous`), as Segment does. With `enable_batching: false` every event goes to
    `/api/v2/entity` on its own.
    """

    def plan_batch(payloads: list[dict[str, Any]], ctx: ActionContext) -> RequestPlan:
        entities = [build(payload) for payload in payloads]
        wires = [jsonwire.dumps(entity) for entity in entities]
        return (yield from _plan_entities(payloads, entities, wires, ctx, split_by_action))

    return plan_batch


def make_plan_batch_planned(
    build: Callable[[dict[str, Any]], Entity], *, split_by_action: bool = False
) -> Callable[[list[dict[str, Any]], list[tuple[Request, ...]], ActionContext], RequestPlan]:
    """`make_plan_batch`'s plan, given each payload's single-event request from the dry run
    (`Action.plan_batch_planned`): its entity and bytes are the batch item, built once."""

    def plan_batch(
        payloads: list[dict[str, Any]], planned: list[tuple[Request, ...]], ctx: ActionContext
    ) -> RequestPlan:
        entities, wires = [], []
        for payload, single in zip(payloads, planned, strict=True):
            if len(single) == 1 and isinstance(single[0].json, dict):
                entities.append(single[0].json)
                wires.append(single[0].body())
            else:
                entity = build(payload)
                entities.append(entity)
                wires.append(jsonwire.dumps(entity))
        return (yield from _plan_entities(payloads, entities, wires, ctx, split_by_action))

    return plan_batch


def _plan_entities(
    payloads: list[dict[str, Any]],
    entities: list[Entity],
    wires: list[bytes],
    ctx: ActionContext,
    split_by_action: bool,
) -> RequestPlan:
    """The requests for `entities` (each serialised once, as `wires`): batches, or one
    request each without batching."""
    results: list[ItemResult] = [ItemResult(False, None, "not sent")] * len(entities)
    if not entities:
        return results
    host = track_host(ctx.settings)
    auth = headers(ctx.settings)
    if payloads[0].get("enable_batching") is False:
        for index, entity in enumerate(entities):
            reply = yield Request(
                "POST",
                ENTITY.url(host),
                auth,
                json=entity,
                purpose=f"{entity['type']} {entity['action']}",
                handles=final_statuses(),
                sees_failure=True,
            ).with_wire(wires[index])
            results[index] = ItemResult(True, reply.status) if reply.ok else _whole_failure(reply)
        return results
    groups: dict[str, list[int]] = {}
    for index, entity in enumerate(entities):
        key = str(entity["action"]) if split_by_action else ""
        groups.setdefault(key, []).append(index)
    refused: ItemResult | None = None
    for members in groups.values():
        sizes = [len(wires[index]) for index in members]
        chunks, oversized = pack(sizes, batch_size(payloads[0]))
        for position in oversized:
            results[members[position]] = ItemResult(
                False,
                None,
                f"entity is {sizes[position]} bytes; a Customer.io batch body must be "
                f"under {MAX_BATCH_BYTES + 1} bytes",
            )
        for chunk in chunks:
            indexes = [members[position] for position in chunk]
            if refused is not None:
                for index in indexes:
                    results[index] = refused
                continue
            # The body is each entity's own bytes, joined: what serialising the batch gives.
            body = b'{"batch":[' + b",".join(wires[index] for index in indexes) + b"]}"
            reply = yield Request(
                "POST",
                BATCH.url(host),
                auth,
                json={"batch": [entities[index] for index in indexes]},
                purpose=f"batch of {len(indexes)} entities",
                handles=final_statuses(),
                sees_failure=True,
            ).with_wire(body)
            if reply.ok:
                outcomes = read_multistatus(reply, len(indexes))
            else:
                whole = _whole_failure(reply)
                outcomes = [whole] * len(indexes)
                if reply.status in (401, 403):
                    # Credentials are wrong for every chunk: do not send the rest.
                    refused = ItemResult(False, reply.status, "not sent: " + whole.reason)
            for index, outcome in zip(indexes, outcomes, strict=True):
                results[index] = outcome
    return results
