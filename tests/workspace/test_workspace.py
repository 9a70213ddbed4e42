"""`cdpctl workspace pull | status | push` against the sandbox's Segment Public API.

Every command runs against a real sandbox HTTP server on 127.0.0.1 (the `sandbox` fixture);
its Public API emulator starts with a demo workspace: destination `dst-sandbox-loops` with
three Loops subscriptions. A watchdog ends the test run if a command hangs.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import run_cli

from cdpctl.sandbox.providers.segment_public_api import DEMO_DESTINATION, TOKEN
from cdpctl.workspace import api
from cdpctl.workspace.client import Pacer, wait_after

ROOT = Path(__file__).parents[2]
ENV = {"SEGMENT_PUBLIC_API_TOKEN": TOKEN}
EMULATOR = "segment_public_api"


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """A hung command fails the run with every thread's stack instead of hanging it."""
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def workspace_state(sandbox) -> dict[str, Any]:
    return sandbox.state.providers[EMULATOR]


def remote_subscriptions(sandbox) -> list[dict[str, Any]]:
    with sandbox.state.lock:
        return json.loads(json.dumps(workspace_state(sandbox)["subscriptions"][DEMO_DESTINATION]))


def set_write_limit(sandbox, writes: int, seconds: float) -> None:
    with sandbox.state.lock:
        workspace_state(sandbox)["write_limit"] = {"writes": writes, "seconds": seconds}


def cli(args: list[str], sandbox, **kw: Any):
    return run_cli([*args, "--api-url", sandbox.url], env={**ENV, **kw.pop("env", {})}, **kw)


def pull(sandbox, path: Path, *extra: str):
    return cli(
        ["workspace", "pull", "--destination", DEMO_DESTINATION, "-o", str(path), *extra], sandbox
    )


def edit(path: Path) -> None:
    """Change a trigger, add a subscription, remove one."""
    text = path.read_text()
    text = text.replace('event = "Order Completed"', 'event = "Checkout Completed"')
    text = text[: text.index("  - name: Signed up")]
    text += (
        "  - name: Cart viewed\n"
        '    trigger: type = "track" and event = "Cart Viewed"\n'
        "    action: sendEvent\n"
        "    mapping:\n"
        '      userId: {"@path": "$.userId"}\n'
        "      eventName: Cart Viewed\n"
    )
    path.write_text(text)


def changed(report: dict[str, Any]) -> set[tuple[str, str]]:
    (file,) = report["files"]
    return {(s["status"], s["name"]) for s in file["subscriptions"] if s["status"] != "in sync"}


EXPECTED_CHANGES = {
    ("update", "Order completed"),
    ("create", "Cart viewed"),
    ("delete", "Signed up"),
}


# --- pull ------------------------------------------------------------------------------------


def test_pull_with_a_page_size_of_one_gives_a_file_validate_accepts(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    result = pull(sandbox, path, "--page-size", "1")
    assert result.exit_code == 0, result.stderr
    assert "3 of 3 subscription(s) pulled (3 page(s))" in result.stderr
    data = yaml.safe_load(path.read_text())
    assert data["destination"]["segment"] == {"destination_id": DEMO_DESTINATION, "region": "us"}
    assert [s["id"] for s in data["subscriptions"]] == ["sub-demo-1", "sub-demo-2", "sub-demo-3"]
    assert all(s["defaults"] is False for s in data["subscriptions"])
    validated = run_cli(["validate", str(path)])
    assert validated.exit_code == 0, validated.stdout
    assert "all valid" in validated.stdout
    status = cli(["workspace", "status", str(path)], sandbox)
    assert status.exit_code == 0, status.stdout
    assert "in sync (3 in sync)" in status.stdout


def test_pull_refuses_to_overwrite_and_needs_a_destination(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    path.write_text("x: 1\n")
    assert pull(sandbox, path).exit_code == 2
    result = cli(["workspace", "pull", "-o", str(tmp_path / "new.yaml")], sandbox)
    assert result.exit_code == 2
    assert "--destination ID" in result.stderr


def test_pull_into_an_existing_file_keeps_its_comments_and_order(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    text = path.read_text()
    text = text.replace("version: 1", "# our team's Loops subscriptions\nversion: 1")
    text = text.replace(
        '    trigger: type = "identify"',
        '    # every identify call\n    trigger: type = "identify"',
    )
    blocks = text.split("\n\n")  # put "Signed up" first: the file's order, not Segment's
    text = (
        "\n\n".join(
            [
                blocks[0].split("subscriptions:\n")[0] + "subscriptions:\n" + blocks[2],
                blocks[0].split("subscriptions:\n")[1],
                blocks[1],
            ]
        )
        + "\n"
    )
    path.write_text(text)
    assert run_cli(["validate", str(path)]).exit_code == 0
    with sandbox.state.lock:  # someone edits the workspace in Segment's UI
        subs = workspace_state(sandbox)["subscriptions"][DEMO_DESTINATION]
        subs[1]["trigger"] = 'type = "track" and event = "Order Placed"'
        subs[0]["settings"]["userId"] = {"@path": "$.traits.user_id"}
        del subs[2]
    result = cli(["workspace", "pull", str(path)], sandbox)
    assert result.exit_code == 0, result.stderr
    after = path.read_text()
    assert "could not update the file in place" not in result.stderr
    assert "# our team's Loops subscriptions" in after
    assert "# every identify call" in after
    names = [s["name"] for s in yaml.safe_load(after)["subscriptions"]]
    assert names == ["Upsert contact", "Order completed"]  # "Signed up" gone, order kept
    assert 'event = "Order Placed"' in after
    assert '"$.traits.user_id"' in after
    status = cli(["workspace", "status", str(path)], sandbox)
    assert status.exit_code == 0, status.stdout


# --- status ----------------------------------------------------------------------------------


def test_status_lists_exactly_the_three_edits_in_text_and_json(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    edit(path)
    text = cli(["workspace", "status", str(path)], sandbox)
    assert text.exit_code == 1, text.stderr
    listed = [
        line.split()[0]
        for line in text.stdout.splitlines()
        if line.startswith("  ") and not line.startswith("      ")
    ]
    assert sorted(listed) == ["create", "delete", "update"]
    assert 'update   "Order completed" (sub-demo-2)' in text.stdout
    assert '"type = \\"track\\" and event = \\"Order Completed\\"" → ' in text.stdout
    assert "push deletes it with --prune" in text.stdout
    as_json = cli(["workspace", "status", str(path), "--format", "json"], sandbox)
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["in_sync"] is False
    assert changed(report) == EXPECTED_CHANGES
    update = next(s for s in report["files"][0]["subscriptions"] if s["status"] == "update")
    assert update["fields"] == [
        {
            "field": "trigger",
            "workspace": 'type = "track" and event = "Order Completed"',
            "file": 'type = "track" and event = "Checkout Completed"',
        }
    ]


def test_status_with_events_shows_what_the_change_does_to_requests(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    edit(path)
    events = tmp_path / "events.ndjson"
    track = json.loads((ROOT / "sample_events" / "track.json").read_text())
    cart = {**track, "event": "Cart Viewed", "messageId": "cart-1"}
    events.write_text(json.dumps(track) + "\n" + json.dumps(cart) + "\n")
    result = cli(["workspace", "status", str(path), "--events", str(events), "-f", "json"], sandbox)
    assert result.exit_code == 1, result.stderr
    seen = json.loads(result.stdout)["files"][0]["events"]
    assert seen["events"] == 2
    assert seen["summary"]["no longer matched"] == 1  # "Order completed" now wants Checkout
    assert seen["summary"]["newly matched"] == 1  # "Cart viewed" is new
    assert seen["subscriptions"]["Cart viewed"]["newly matched"] == 1
    assert seen["subscriptions"]["Order completed"]["no longer matched"] == 1
    plain = cli(["workspace", "status", str(path), "--events", str(events)], sandbox)
    assert "Order completed: no longer matched" in plain.stdout
    assert "Cart viewed: newly matched" in plain.stdout


def test_status_exits_2_without_a_token_or_with_a_wrong_one(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    missing = run_cli(["workspace", "status", str(path), "--api-url", sandbox.url], env={})
    assert missing.exit_code == 2
    assert "SEGMENT_PUBLIC_API_TOKEN" in missing.stderr
    wrong = cli(
        ["workspace", "status", str(path)],
        sandbox,
        env={"SEGMENT_PUBLIC_API_TOKEN": "not-the-sandbox-token"},
    )
    assert wrong.exit_code == 2
    assert "401 Unauthorized" in wrong.stderr
    assert "Traceback" not in wrong.output


# --- push ------------------------------------------------------------------------------------


def test_push_yes_prune_makes_the_workspace_hold_exactly_the_file(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    edit(path)
    result = cli(
        [
            *("workspace", "push", str(path), "--yes", "--prune"),
            *("--writes-per-minute", "600", "--page-size", "1"),
        ],
        sandbox,
    )
    assert result.exit_code == 0, result.stderr
    assert "[1/3] update" in result.stderr and "[3/3] delete" in result.stderr
    assert "3 write(s) applied; the workspace matches the file" in result.stderr
    status = cli(["workspace", "status", str(path), "--page-size", "1"], sandbox)
    assert status.exit_code == 0, status.stdout
    from cdpctl.pipeline import load_destination

    destination = load_destination(str(path))
    held = remote_subscriptions(sandbox)
    assert [(s["name"], s["actionSlug"], s["trigger"], s["enabled"]) for s in held] == [
        (s.name, s.action.name, s.trigger, s.enabled) for s in destination.subscriptions
    ]
    assert [s["settings"] for s in held] == [s.mapping for s in destination.subscriptions]
    data = yaml.safe_load(path.read_text())
    assert [s["id"] for s in data["subscriptions"]] == [s["id"] for s in held]


def test_delete_needs_prune(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    edit(path)
    result = cli(["workspace", "push", str(path), "--yes", "--writes-per-minute", "600"], sandbox)
    assert result.exit_code == 0, result.stderr
    assert "1 left in the workspace (no --prune)" in result.stderr
    assert "Signed up" in [s["name"] for s in remote_subscriptions(sandbox)]
    status = json.loads(cli(["workspace", "status", str(path), "-f", "json"], sandbox).stdout)
    assert changed(status) == {("delete", "Signed up")}


def test_push_asks_first_and_changes_nothing_without_yes(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    edit(path)
    before = remote_subscriptions(sandbox)
    result = cli(["workspace", "push", str(path)], sandbox)
    assert result.exit_code == 2
    assert "pass --yes" in result.stderr
    assert remote_subscriptions(sandbox) == before


def test_defaults_true_is_written_out_explicitly(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    edit(path)  # "Cart viewed" has no `defaults:` key: true, so the action's defaults apply
    cli(["workspace", "push", str(path), "--yes", "--writes-per-minute", "600"], sandbox)
    cart = next(s for s in remote_subscriptions(sandbox) if s["name"] == "Cart viewed")
    assert cart["settings"]["eventName"] == "Cart Viewed"
    assert cart["settings"]["eventProperties"] == {"@path": "$.properties"}  # a default
    assert "email" in cart["settings"]


def test_push_refuses_what_segment_cannot_run_and_what_does_not_validate(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    text = path.read_text()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "eventProperties" in line)
    lines[at] = '      eventProperties: {"count": {"@jmespath": "length(properties.products)"}}'
    path.write_text("\n".join(lines) + "\n")
    before = remote_subscriptions(sandbox)
    result = cli(["workspace", "push", str(path), "--yes"], sandbox)
    assert result.exit_code == 2
    assert f"{path}:{at + 1}:" in result.stderr
    assert "CDP801" in result.stderr and "@jmespath" in result.stderr
    path.write_text(text.replace("action: sendEvent", "action: sendEvnt", 1))
    invalid = cli(["workspace", "push", str(path), "--yes"], sandbox)
    assert invalid.exit_code == 2
    assert "CDP302" in invalid.stderr
    assert remote_subscriptions(sandbox) == before
    assert workspace_state(sandbox)["writes"] == []


def test_429s_on_writes_are_waited_out_with_progress_shown(sandbox, tmp_path) -> None:
    set_write_limit(sandbox, 1, 1.0)  # Segment's 5 a minute, sped up: 1 a second
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    edit(path)
    with sandbox.state.lock:  # another tool has just written: the window is spent
        workspace_state(sandbox)["writes"] = [time.time()]
    started = time.monotonic()
    result = cli(
        ["workspace", "push", str(path), "--yes", "--prune", "--writes-per-minute", "6000"],
        sandbox,
    )
    assert result.exit_code == 0, result.stderr
    assert "Segment answered 429 (rate limited)" in result.stderr
    assert "waiting" in result.stderr
    assert time.monotonic() - started >= 2.5  # after the other write, three: one a second
    assert cli(["workspace", "status", str(path)], sandbox).exit_code == 0
    assert sandbox.state.stats["rejected"] >= 1


def test_writes_are_paced_to_the_limit_without_a_429(sandbox, tmp_path) -> None:
    set_write_limit(sandbox, 2, 1.0)
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    edit(path)
    result = cli(
        ["workspace", "push", str(path), "--yes", "--prune", "--writes-per-minute", "120"],
        sandbox,
    )
    assert result.exit_code == 0, result.stderr
    assert "429" not in result.stderr
    assert "waiting 0." in result.stderr and "120 writes a minute" in result.stderr


def test_a_create_whose_answer_is_lost_is_not_made_twice(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    edit(path)
    with sandbox.state.lock:
        workspace_state(sandbox)["lose_answers"] = 1  # the first write: done, answer lost
    text = path.read_text()
    text = text.replace('event = "Checkout Completed"', 'event = "Order Completed"')
    path.write_text(text)  # only the create is left to do
    result = cli(["workspace", "push", str(path), "--yes", "--writes-per-minute", "600"], sandbox)
    assert result.exit_code == 0, result.stderr
    assert "found already created" in result.stderr
    names = [s["name"] for s in remote_subscriptions(sandbox)]
    assert names.count("Cart viewed") == 1
    assert workspace_state(sandbox)["lose_answers"] == 0  # the answer really was lost
    creates = [r for r in workspace_state(sandbox)["received"] if r["method"] == "POST"]
    assert len(creates) == 1
    cart_id = next(s["id"] for s in remote_subscriptions(sandbox) if s["name"] == "Cart viewed")
    assert f"id: {cart_id}" in path.read_text()


def test_a_rerun_after_the_process_died_before_writing_the_id_converges(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    edit(path)
    unwritten = path.read_text()
    first = cli(
        ["workspace", "push", str(path), "--yes", "--prune", "--writes-per-minute", "600"],
        sandbox,
    )
    assert first.exit_code == 0
    path.write_text(unwritten)  # as if killed between Segment's answer and the id write-back
    again = cli(
        ["workspace", "push", str(path), "--yes", "--prune", "--writes-per-minute", "600"],
        sandbox,
    )
    assert again.exit_code == 0, again.stderr
    assert "0 write(s)" in again.stdout
    assert [s["name"] for s in remote_subscriptions(sandbox)].count("Cart viewed") == 1
    assert "id: sub-sandbox-1" in path.read_text()
    assert cli(["workspace", "status", str(path)], sandbox).exit_code == 0


@pytest.mark.slow
def test_a_push_killed_midway_converges_when_run_again(sandbox, tmp_path) -> None:
    path = tmp_path / "loops.yaml"
    pull(sandbox, path)
    text = path.read_text()
    for n in range(4):
        text += (
            f"\n  - name: Extra {n}\n"
            f'    trigger: type = "track" and event = "Extra {n}"\n'
            "    action: sendEvent\n"
        )
    path.write_text(text)
    command = [
        sys.executable, "-m", "cdpctl", "workspace", "push", str(path), "--yes",
        "--api-url", sandbox.url, "--writes-per-minute", "30",
    ]  # fmt: skip
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while len(remote_subscriptions(sandbox)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert 4 <= len(remote_subscriptions(sandbox)) < 7, "killed after the first create"
    again = subprocess.run(
        [*command[:-1], "600"], env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    names = [s["name"] for s in remote_subscriptions(sandbox)]
    assert sorted(names) == sorted(
        ["Upsert contact", "Order completed", "Signed up", *(f"Extra {n}" for n in range(4))]
    )
    assert cli(["workspace", "status", str(path)], sandbox).exit_code == 0


# --- the pieces ------------------------------------------------------------------------------


def test_the_pacer_spaces_writes_by_the_limit_and_holds_after_a_429() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(5, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        pacer.before_write()
    assert slept == [12.0, 12.0]
    pacer.hold(30, "429")
    pacer.before_write()
    assert slept == [12.0, 12.0, 30.0]  # the hold covered the spacing


def test_wait_after_reads_retry_after_the_reset_date_and_ms_before_next() -> None:
    assert wait_after(429, {"retry-after": "7"}, None) == 7
    body = {"errors": [{"data": {"msBeforeNext": 57647}}]}
    assert wait_after(429, {}, body) == pytest.approx(57.647)
    import email.utils

    reset = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert (
        28
        <= (wait_after(200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}, None) or 0)
        <= 31
    )
    assert wait_after(200, {"x-ratelimit-remaining": "3"}, None) is None


def test_requests_are_data_with_the_documented_shapes() -> None:
    base = api.base_url("eu")
    assert base == "https://eu1.api.segmentapis.com"
    listing = api.list_subscriptions(base, "dst/1", 1, "MQ==")
    assert listing.url == (
        "https://eu1.api.segmentapis.com/destinations/dst%2F1/subscriptions"
        "?pagination.count=1&pagination.cursor=MQ%3D%3D"
    )
    assert not listing.write
    wanted = api.Desired("A", "sendEvent", 'type = "track"', True, {"userId": "u"})
    create = api.create_subscription(base, "d", wanted, "act1")
    assert create.write and create.json == {
        "name": "A",
        "actionId": "act1",
        "trigger": 'type = "track"',
        "enabled": True,
        "settings": {"userId": "u"},
    }
    patch = api.update_subscription(base, "d", "s", {"enabled": False}, "A")
    assert (patch.method, patch.json) == ("PATCH", {"input": {"enabled": False}})


def test_a_subscription_cdpctl_cannot_hold_is_listed_never_pruned(sandbox, tmp_path) -> None:
    with sandbox.state.lock:
        workspace_state(sandbox)["subscriptions"][DEMO_DESTINATION].append(
            {
                "id": "sub-other",
                "name": "Made in Segment",
                "actionId": "act-x",
                "actionSlug": "actionCdpctlDoesNotHave",
                "destinationId": DEMO_DESTINATION,
                "enabled": True,
                "trigger": 'type = "page"',
                "settings": {},
            }
        )
    path = tmp_path / "loops.yaml"
    pulled = pull(sandbox, path)
    assert pulled.exit_code == 1  # listed as not converted
    assert "actionCdpctlDoesNotHave" in pulled.stderr
    status = cli(["workspace", "status", str(path), "-f", "json"], sandbox)
    assert status.exit_code == 0, status.stdout
    kinds = {s["name"]: s["status"] for s in json.loads(status.stdout)["files"][0]["subscriptions"]}
    assert kinds["Made in Segment"] == "unmanaged"
    pushed = cli(
        ["workspace", "push", str(path), "--yes", "--prune", "--writes-per-minute", "600"], sandbox
    )
    assert pushed.exit_code == 0, pushed.stderr
    assert "sub-other" in [s["id"] for s in remote_subscriptions(sandbox)]
