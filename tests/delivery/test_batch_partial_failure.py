"""A batch plan that splits one batch into several requests: a request that still fails when
the transport's attempts run out, or never gets an answer, fails its own events only — never
those of requests the provider already acknowledged (a replay of the dead letters would
deliver them twice).

The plan tests drive `plan_batch` through the real `drive` with a fake `send` that answers as
the transport does after its retries; the last test runs `cdpctl replay --live` against the
sandbox, so the real transport, engine and dead-letter file are involved.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers import CUSTOMERIO_EVENTS_MAPPING, run_cli

from cdpctl.delivery.transport import Attempt, Exchange, NetworkFailure, Send, drive
from cdpctl.providers import get_provider
from cdpctl.providers.base import Action, ActionContext, ItemResult, Reply, Request
from cdpctl.providers.payload import prepare
from cdpctl.sandbox.providers.customerio import API_KEY, SITE_ID
from cdpctl.sandbox.server import Faults

NETWORK_ERROR = "network error after 3 attempts: ConnectError: connection refused"
UNAVAILABLE = Reply(503, {"error": "service unavailable"}, text='{"error":"service unavailable"}')

# The provider's answer to one request after the transport's retries; None: no answer at all.
Answer = Callable[[Request], Reply | None]


def fake_send(answer: Answer) -> Send:
    """Answers like `Transport.send` once its attempts are spent (3 of them)."""

    async def send(request: Request) -> tuple[Reply, tuple[Attempt, ...]]:
        reply = answer(request)
        if reply is None:
            refused = Attempt(None, 0.0, "ConnectError: connection refused")
            raise NetworkFailure(NETWORK_ERROR, (refused,) * 3)
        return reply, (Attempt(reply.status, 0.0),) * 3

    return send


def action(provider: str, name: str) -> Action:
    spec = get_provider(provider)
    assert spec is not None
    found = spec.action(name)
    assert found is not None and found.plan_batch is not None
    return found


def drive_batch(
    act: Action, payloads: list[dict[str, Any]], settings: dict[str, Any], answer: Answer
) -> tuple[list[Exchange], list[ItemResult]]:
    cleaned = []
    for payload in payloads:
        prepared, problems = prepare(act, payload, settings)
        assert not [p for p in problems if p.severity.value == "error"], problems
        cleaned.append(prepared)
    assert act.plan_batch is not None
    plan = act.plan_batch(cleaned, ActionContext(settings=settings, dry_run=False))
    return asyncio.run(drive(plan, fake_send(answer)))


def nth(
    matches: Callable[[Request], bool], failing: int, failure: Reply | None, ok: Reply
) -> Answer:
    """`failure` for the `failing`-th (1-based) request `matches` accepts; `ok` for the others."""
    seen = 0

    def answer(request: Request) -> Reply | None:
        nonlocal seen
        if not matches(request):
            return ok
        seen += 1
        return failure if seen == failing else ok

    return answer


def is_chunk(method: str, path: str) -> Callable[[Request], bool]:
    return lambda request: request.method == method and path in request.url


# --- Customer.io ------------------------------------------------------------------------------

CIO = {"siteId": "12345", "apiKey": "abcde"}
CIO_BATCH = is_chunk("POST", "/api/v2/batch")


def cio_events(count: int, **fields: Any) -> list[dict[str, Any]]:
    return [{"id": f"u{i}", "name": "E", "event_id": f"e{i}", **fields} for i in range(count)]


def test_customerio_second_chunk_503_fails_only_its_events() -> None:
    exchanges, results = drive_batch(
        action("customerio", "trackEvent"),
        cio_events(4, batch_size=2),
        CIO,
        nth(CIO_BATCH, 2, UNAVAILABLE, Reply(200, {})),
    )
    assert [e.reply.status for e in exchanges] == [200, 503]
    assert results[:2] == [ItemResult(True, 200)] * 2
    failed = ItemResult(
        False,
        503,
        'Customer.io answered HTTP 503 on the last attempt: {"error":"service unavailable"}',
    )
    assert results[2:] == [failed] * 2


def test_customerio_chunk_without_answer_fails_alone_and_later_chunks_are_still_sent() -> None:
    exchanges, results = drive_batch(
        action("customerio", "trackEvent"),
        cio_events(6, batch_size=2),
        CIO,
        nth(CIO_BATCH, 2, None, Reply(200, {})),
    )
    assert [e.reply.status for e in exchanges] == [200, 0, 200]
    assert [r.ok for r in results] == [True, True, False, False, True, True]
    assert (
        results[2]
        == results[3]
        == ItemResult(False, None, f"no answer from Customer.io: {NETWORK_ERROR}")
    )


def test_customerio_unbatched_entity_503_fails_that_event_only() -> None:
    exchanges, results = drive_batch(
        action("customerio", "trackEvent"),
        cio_events(3, enable_batching=False),
        CIO,
        nth(is_chunk("POST", "/api/v2/entity"), 2, UNAVAILABLE, Reply(200, {})),
    )
    assert len(exchanges) == 3
    assert [(r.ok, r.status) for r in results] == [(True, 200), (False, 503), (True, 200)]
    assert "HTTP 503 on the last attempt" in results[1].reason


def test_customerio_401_still_fails_the_remaining_chunks_without_sending_them() -> None:
    unauthorized = Reply(401, {"meta": {"error": "Unauthorized request"}})
    exchanges, results = drive_batch(
        action("customerio", "trackEvent"),
        cio_events(6, batch_size=2),
        CIO,
        nth(CIO_BATCH, 2, unauthorized, Reply(200, {})),
    )
    assert [e.reply.status for e in exchanges] == [200, 401]
    assert [r.ok for r in results] == [True, True, False, False, False, False]
    assert all(r.status == 401 and "accountRegion" in r.reason for r in results[2:])
    assert all(r.reason.startswith("not sent: ") for r in results[4:])


# --- Segment ----------------------------------------------------------------------------------

SEGMENT = {"source_write_key": "write-key"}
SEGMENT_BATCH = is_chunk("POST", "/batch")
ACCEPTED = Reply(200, {"success": True})


def segment_tracks(count: int, padding: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "event_name": "Order Completed",
            "user_id": f"u{i}",
            "message_id": f"m{i}",
            "properties": {"pad": "x" * padding},
        }
        for i in range(count)
    ]


def test_segment_second_batch_request_503_fails_only_its_events() -> None:
    # ~30 KB per event: the 500 KB batch limit splits 20 events into two requests.
    payloads = segment_tracks(20, padding=30_000)
    exchanges, results = drive_batch(
        action("segment", "sendTrack"),
        payloads,
        SEGMENT,
        nth(SEGMENT_BATCH, 2, UNAVAILABLE, ACCEPTED),
    )
    sizes = [len(json.loads(e.request.body())["batch"]) for e in exchanges]
    assert len(sizes) == 2 and sum(sizes) == 20
    first = sizes[0]
    assert all(r == ItemResult(True, 200) for r in results[:first])
    failed = ItemResult(
        False,
        503,
        'Segment answered HTTP 503 on the last attempt: {"error":"service unavailable"}',
    )
    assert results[first:] == [failed] * sizes[1]


def test_segment_half_of_a_split_400_without_answer_fails_that_half_only() -> None:
    replies: list[Reply | None] = [Reply(400, {"message": "bad"}), ACCEPTED, None]
    exchanges, results = drive_batch(
        action("segment", "sendTrack"),
        segment_tracks(4),
        SEGMENT,
        lambda request: replies.pop(0),
    )
    assert [e.reply.status for e in exchanges] == [400, 200, 0]
    assert [r.ok for r in results] == [True, True, False, False]
    assert results[2] == ItemResult(False, reason=f"no answer from Segment: {NETWORK_ERROR}")


# --- SendGrid ---------------------------------------------------------------------------------

SENDGRID = {"sendGridApiKey": "test"}
UPSERT_PUT = is_chunk("PUT", "/v3/marketing/contacts")


def sendgrid_answer(failing: Answer) -> Answer:
    """Field definitions, search and DELETE answered as SendGrid does; PUTs by `failing`."""

    def answer(request: Request) -> Reply | None:
        if request.method == "GET":
            return Reply(200, {"custom_fields": []})
        if request.url.endswith("/contacts/search"):
            return Reply(200, {"result": [{"id": "c-1"}], "contact_count": 1})
        if request.method == "PUT":
            return failing(request)
        return Reply(202, {"job_id": "job-delete"})

    return answer


def test_sendgrid_upsert_for_the_second_list_503_fails_only_its_contacts() -> None:
    # One PUT per distinct list_ids: two requests for one batch.
    payloads = [
        {"primary_email": "a@example.com", "list_ids": ["l1"]},
        {"primary_email": "b@example.com", "list_ids": ["l2"]},
        {"primary_email": "c@example.com", "list_ids": ["l1"]},
    ]
    exchanges, results = drive_batch(
        action("sendgrid", "updateUserProfile"),
        payloads,
        SENDGRID,
        sendgrid_answer(nth(UPSERT_PUT, 2, UNAVAILABLE, Reply(202, {"job_id": "job-1"}))),
    )
    assert [(e.request.method, e.reply.status) for e in exchanges] == [
        ("GET", 200),
        ("PUT", 202),
        ("PUT", 503),
    ]
    assert results[0] == results[2] == ItemResult(True, 202, "queued as job job-1")
    assert results[1] == ItemResult(
        False,
        503,
        "SendGrid answered the upsert with HTTP 503 on the last attempt: "
        '{"error":"service unavailable"}',
    )


def test_sendgrid_upsert_without_answer_fails_its_contacts_and_the_next_list_is_sent() -> None:
    payloads = [
        {"primary_email": "a@example.com", "list_ids": ["l1"]},
        {"primary_email": "b@example.com", "list_ids": ["l2"]},
    ]
    exchanges, results = drive_batch(
        action("sendgrid", "updateUserProfile"),
        payloads,
        SENDGRID,
        sendgrid_answer(nth(UPSERT_PUT, 1, None, Reply(202, {"job_id": "job-2"}))),
    )
    assert [e.reply.status for e in exchanges] == [200, 0, 202]
    assert results == [
        ItemResult(False, None, f"no answer from SendGrid to the upsert: {NETWORK_ERROR}"),
        ItemResult(True, 202, "queued as job job-2"),
    ]


def test_sendgrid_failed_removal_search_fails_only_the_contacts_it_was_for() -> None:
    payloads = [
        {"primary_email": "a@example.com", "remove_from_list_ids": ["l1"]},
        {"primary_email": "b@example.com", "remove_from_list_ids": ["l2"]},
    ]
    searches = 0

    def answer(request: Request) -> Reply | None:
        nonlocal searches
        if request.url.endswith("/contacts/search"):
            searches += 1
            return UNAVAILABLE if searches == 1 else Reply(200, {"result": [{"id": "c-2"}]})
        return sendgrid_answer(lambda _: Reply(202, {"job_id": "job-3"}))(request)

    exchanges, results = drive_batch(
        action("sendgrid", "updateUserProfile"), payloads, SENDGRID, answer
    )
    assert [(e.request.method, e.reply.status) for e in exchanges][-3:] == [
        ("POST", 503),
        ("POST", 200),
        ("DELETE", 202),
    ]
    assert (results[0].ok, results[0].status) == (False, 503)
    assert "contact search" in results[0].reason and "last attempt" in results[0].reason
    assert results[1].ok


def test_sendgrid_refused_key_fails_the_remaining_upserts_without_sending_them() -> None:
    payloads = [{"primary_email": f"{n}@example.com", "list_ids": [f"l{n}"]} for n in range(3)]
    forbidden = Reply(403, {"errors": [{"field": None, "message": "access forbidden"}]})
    exchanges, results = drive_batch(
        action("sendgrid", "updateUserProfile"),
        payloads,
        SENDGRID,
        sendgrid_answer(nth(UPSERT_PUT, 2, forbidden, Reply(202, {"job_id": "job-4"}))),
    )
    assert [e.reply.status for e in exchanges] == [200, 202, 403]
    assert results[0].ok
    assert results[1].status == results[2].status == 403
    assert "access forbidden" in results[1].reason and "sendGridApiKey" in results[1].reason
    assert results[2].reason == "not sent: " + results[1].reason


# --- SFMC -------------------------------------------------------------------------------------

SFMC = {
    "subdomain": "test123",
    "client_id": "test123",
    "client_secret": "test123",
    "account_id": "test123",
}
TOKEN = Reply(200, {"access_token": "token", "token_type": "Bearer", "expires_in": 3600})


def sfmc_answer(
    chunk: Callable[[Request], bool], failing: int, failure: Reply | None, ok: Reply
) -> Answer:
    later = nth(chunk, failing, failure, ok)

    def answer(request: Request) -> Reply | None:
        return TOKEN if "/v2/token" in request.url else later(request)

    return answer


def rows(count: int, **fields: Any) -> list[dict[str, Any]]:
    return [
        {"id": "de-1", "keys": {"id": f"r{i}"}, "values": {"name": f"n{i}"}, **fields}
        for i in range(count)
    ]


def test_sfmc_second_rowset_503_fails_only_its_rows() -> None:
    unavailable = Reply(503, {"message": "Service Unavailable"})
    exchanges, results = drive_batch(
        action("sfmc", "dataExtension"),
        rows(4, enable_batching=True, batch_size=2),
        SFMC,
        sfmc_answer(is_chunk("POST", "/rowset"), 2, unavailable, Reply(200, [])),
    )
    assert [e.reply.status for e in exchanges] == [200, 200, 503]
    assert [r.ok for r in results] == [True, True, False, False]
    assert (
        results[2]
        == results[3]
        == ItemResult(False, 503, "SFMC answered 503 on the last attempt: Service Unavailable")
    )


def test_sfmc_async_request_without_answer_fails_only_its_rows() -> None:
    payloads = [
        {
            "keys": {"id": f"r{i}"},
            "values": {"name": f"n{i}"},
            "onMappingSave": {"outputs": {"id": "de-1"}},
            "batch_size": 1000,
            "batch_bytes": 40,  # one row a request
        }
        for i in range(3)
    ]
    accepted = Reply(202, {"requestId": "job", "resultMessages": []})
    settled = Reply(200, {"status": {"requestStatus": "Complete", "resultStatus": "OK"}})
    submit = sfmc_answer(is_chunk("PUT", "/data/v1/async/"), 2, None, accepted)

    def answer(request: Request) -> Reply | None:
        return settled if request.url.endswith("/status") else submit(request)

    exchanges, results = drive_batch(action("sfmc", "asyncDataExtension"), payloads, SFMC, answer)
    # token, submit + its status poll, the unanswered submit (no poll), submit + poll
    assert [e.reply.status for e in exchanges] == [200, 202, 200, 0, 202, 200]
    assert [r.ok for r in results] == [True, False, True]
    assert results[1] == ItemResult(False, None, f"no answer from SFMC: {NETWORK_ERROR}")


def test_sfmc_classic_contact_without_answer_keeps_only_that_row_back() -> None:
    settings = {**SFMC, "identifyExtensionExternalKey": "segment_identify"}
    payloads = [{"userId": f"u{i}", "traits": {"plan": "pro"}} for i in range(3)]
    exchanges, results = drive_batch(
        action("sfmc", "identifyDataExtension"),
        payloads,
        settings,
        sfmc_answer(is_chunk("POST", "/contacts/v1/contacts"), 2, None, Reply(200, [])),
    )
    sent = [(e.request.method, e.request.url.rsplit("/", 1)[-1], e.reply.status) for e in exchanges]
    assert sent == [
        ("POST", "token", 200),
        ("POST", "contacts", 200),
        ("POST", "contacts", 0),
        ("POST", "contacts", 200),
        ("POST", "rowset", 200),
    ]
    assert len(json.loads(exchanges[-1].request.body())) == 2
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].reason == f"no answer from SFMC: {NETWORK_ERROR}"


# --- end to end: cdpctl replay --live against the sandbox --------------------------------------


def test_replay_dead_letters_only_events_the_sandbox_did_not_acknowledge(
    tmp_path: Path, sandbox
) -> None:
    mapping = tmp_path / "customerio.yaml"
    mapping.write_text(CUSTOMERIO_EVENTS_MAPPING)
    events = tmp_path / "events.ndjson"
    ids = {f"msg-{i:04d}" for i in range(300)}
    events.write_text(
        "".join(
            json.dumps(
                {
                    "type": "track",
                    "event": "Order Completed",
                    "messageId": message_id,
                    "userId": f"user-{i % 37}",
                    "timestamp": "2024-05-17T09:30:00.000Z",
                    "properties": {"order_id": f"o-{i}"},
                }
            )
            + "\n"
            for i, message_id in enumerate(sorted(ids))
        )
    )
    sandbox.set_faults(Faults(error_rate=0.2, reset_rate=0.05, rate_limits=False, seed=7))
    result = run_cli(
        [
            "replay",
            str(events),
            "-m",
            str(mapping),
            "--live",
            "--endpoint",
            sandbox.url,
            "--batch-size",
            "20",  # four requests of 5 events for every batch
            "--max-attempts",
            "1",
            "--rate",
            "2000",
            "--format",
            "json",
            "--no-progress",
        ],
        env={"CIO_SITE_ID": SITE_ID, "CIO_API_KEY": API_KEY},
    )
    report = json.loads(result.stdout)
    received = sandbox.state.providers["customerio"]["received"]
    assert {r["path"] for r in received} == {"/api/v2/batch"}
    acknowledged = [entity["id"] for r in received for entity in r["body"]["batch"]]
    dead: dict[str, str] = {}
    for line in (tmp_path / "events.ndjson.dead-letter.ndjson").read_text().splitlines():
        record = json.loads(line)
        dead[record["event"]["messageId"]] = record["deadLetter"]["reason"]

    # A reset after the request was written is ambiguous: Customer.io events carry no key it
    # deduplicates by, so those chunks' events are in doubt (in the ledger), not resent.
    ledger = sqlite3.connect(tmp_path / "events.ndjson.cdpctl-state.sqlite")
    in_doubt = {
        row[0] for row in ledger.execute("SELECT message_id FROM outcomes WHERE state = 'in doubt'")
    }
    ledger.close()

    stats = sandbox.state.stats
    assert stats["errors_injected"] > 0 and stats["resets"] > 0, "some chunks failed"
    assert len(acknowledged) == len(set(acknowledged)), "nothing acknowledged twice"
    assert not set(acknowledged) & set(dead), "no acknowledged event is dead-lettered"
    assert not set(dead) & in_doubt, "no event in doubt is dead-lettered"
    assert set(acknowledged) | set(dead) | in_doubt == ids, "every event accounted for"
    assert in_doubt, "the resets left some events in doubt"
    assert all("HTTP 503" in reason for reason in dead.values())
    failed_requests = stats["errors_injected"] + stats["resets"]
    assert len(dead) + len(in_doubt) <= 5 * failed_requests, "only the failed requests' events"
    subscription = report["subscriptions"]["events"]
    assert (subscription["delivered"], subscription["failed"], subscription["in_doubt"]) == (
        len(acknowledged),
        len(dead),
        len(in_doubt),
    )
    assert {e["messageId"] for e in report["in_doubt_events"]} <= in_doubt
    assert result.exit_code == 1
