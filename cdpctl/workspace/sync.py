"""pull, status and push: a mapping file and its Segment destination, brought in step.

`read_remote` lists a destination's subscriptions page by page; `pull_text` turns them into a
mapping file with `import segment`'s conversion (merged into an existing file where it can);
`compare` (in `compare.py`) says what differs; `push` applies the differences one write at a
time, writing each new subscription's `id:` back into the file as soon as Segment answers, so
an interrupted push re-run finds what it already did. Progress goes to a callback.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdpctl import codes, jsonwire
from cdpctl.diagnostics import Diagnostic
from cdpctl.loading import Document, LoadError, parse_yaml
from cdpctl.mappingfile import effective_mapping
from cdpctl.pipeline import Destination
from cdpctl.providers import get_provider
from cdpctl.workspace import api, filetext
from cdpctl.workspace.client import ApiFailure, Client
from cdpctl.workspace.compare import (
    CREATE,
    DELETE,
    UPDATE,
    Comparison,
    SubscriptionChange,
    compare,
    patch_input,
    wanted,
)

MAX_PAGES = 10_000
Report = Callable[[str], None]


class WorkspaceError(Exception):
    """pull, status or push cannot go on; one line, already redacted."""


@dataclass(frozen=True, slots=True)
class Target:
    base: str
    destination_id: str
    region: str = "us"


@dataclass(frozen=True, slots=True)
class Remote:
    destination: api.DestinationInfo
    subscriptions: tuple[api.Subscription, ...]
    pages: int


def _send(client: Client, request: api.ApiRequest) -> Any:
    try:
        return client.send(request)
    except ApiFailure as failure:
        raise WorkspaceError(str(failure)) from None


def read_remote(client: Client, target: Target, page_size: int = api.PAGE_SIZE) -> Remote:
    """The destination and all its subscriptions, following `pagination.next`."""
    try:
        body = _send(client, api.get_destination(target.base, target.destination_id))
        destination = api.read_destination(body, f"destination {target.destination_id}")
        found: list[api.Subscription] = []
        cursor: str | None = None
        seen: set[str] = set()
        pages = 0
        while True:
            request = api.list_subscriptions(target.base, target.destination_id, page_size, cursor)
            page, cursor = api.read_page(_send(client, request), "list subscriptions")
            pages += 1
            found.extend(page)
            if cursor is None:
                break
            if cursor in seen or pages >= MAX_PAGES:
                raise WorkspaceError(
                    f"list subscriptions: the API returned cursor {cursor!r} twice; stopped "
                    "rather than loop"
                )
            seen.add(cursor)
    except api.AnswerError as error:
        raise WorkspaceError(client.redactor.text(str(error))) from None
    return Remote(destination, tuple(found), pages)


# --- pull ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pulled:
    text: str
    provider: str
    converted: int
    total: int
    not_converted: tuple[str, ...]
    layout_kept: bool = True


def _export_text(remote: Remote) -> str:
    return jsonwire.dumps(
        {
            "data": {
                "subscriptions": [s.raw for s in remote.subscriptions],
                "destination": remote.destination.raw,
            }
        }
    ).decode()


def pull_text(
    remote: Remote,
    target: Target,
    *,
    provider: str | None,
    schema_ref: str,
    existing: tuple[str, str] | None = None,
) -> Pulled:
    """The workspace as a mapping file; merged into `existing` (path, text) when given."""
    from cdpctl.importing import segment as importer

    source = f"Segment destination {target.destination_id}"
    if not remote.subscriptions:
        raise WorkspaceError(f"{source} has no subscriptions to pull")
    try:
        export = importer.parse_export(_export_text(remote), source)
        spec = importer.resolve_provider(export, provider)
        result = importer.convert(
            export,
            spec,
            source=source,
            schema_ref=schema_ref,
            link=(target.destination_id, target.region),
        )
    except importer.ExportError as error:
        raise WorkspaceError(str(error)) from None
    pulled = Pulled(
        result.text, result.provider, result.converted, result.total, result.not_converted
    )
    if existing is None:
        return pulled
    path, old = existing
    merged = merge_pull(old, path, result.text, target)
    if merged is not None and _same_subscriptions(merged, result.text):
        return Pulled(merged, result.provider, result.converted, result.total, result.not_converted)
    return Pulled(
        result.text,
        result.provider,
        result.converted,
        result.total,
        result.not_converted,
        layout_kept=False,
    )


def _parse(text: str, path: str) -> Document | None:
    try:
        return parse_yaml(text, path)
    except LoadError:
        return None


def _effective(provider_name: str, item: dict[str, Any]) -> dict[str, Any] | None:
    provider = get_provider(provider_name)
    action = provider.action(str(item.get("action"))) if provider else None
    mapping = item.get("mapping") or {}
    if action is None or not isinstance(mapping, dict):
        return None
    return effective_mapping(action, mapping, item.get("defaults", True) is not False)[0]


def _state(provider: str, item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        item.get("id"),
        item.get("name"),
        item.get("action"),
        item.get("trigger"),
        item.get("enabled", True),
        _effective(provider, item),
    )


def _same_subscriptions(merged: str, fresh: str) -> bool:
    """The merged file holds exactly the fresh file's subscriptions (in effect)."""
    one, two = _parse(merged, "merged"), _parse(fresh, "fresh")
    if one is None or two is None:
        return False
    provider = str(two.data["destination"]["provider"])
    if one.data.get("destination", {}).get("provider") != provider:
        return False
    mine = sorted((_state(provider, i) for i in one.data["subscriptions"]), key=repr)
    theirs = sorted((_state(provider, i) for i in two.data["subscriptions"]), key=repr)
    return mine == theirs


def merge_pull(old: str, path: str, fresh: str, target: Target) -> str | None:
    """The existing file with the workspace's subscriptions: matched ones edited in place
    (only the keys that differ), gone ones removed, new ones appended, comments and order
    kept. None when the file cannot be edited so (the caller writes `fresh` instead)."""
    old_doc, fresh_doc = _parse(old, path), _parse(fresh, "pulled")
    if old_doc is None or fresh_doc is None:
        return None
    old_items = old_doc.data.get("subscriptions") if isinstance(old_doc.data, dict) else None
    destination = old_doc.data.get("destination") if isinstance(old_doc.data, dict) else None
    if not isinstance(old_items, list) or not isinstance(destination, dict):
        return None
    provider = str(fresh_doc.data["destination"]["provider"])
    if destination.get("provider") != provider:
        return None
    fresh_items: list[dict[str, Any]] = fresh_doc.data["subscriptions"]
    claimed: set[int] = set()
    matches: list[int | None] = []
    for item in old_items:
        found = None
        if isinstance(item, dict):
            for j, candidate in enumerate(fresh_items):
                if j not in claimed and item.get("id") and candidate.get("id") == item.get("id"):
                    found = j
                    break
            if found is None:
                for j, candidate in enumerate(fresh_items):
                    if (
                        j not in claimed
                        and candidate.get("name") == item.get("name")
                        and candidate.get("action") == item.get("action")
                        and not any(
                            isinstance(o, dict) and o.get("id") == candidate.get("id")
                            for o in old_items
                        )
                    ):
                        found = j
                        break
        if found is not None:
            claimed.add(found)
        matches.append(found)
    text: str | None = old
    for index, (item, match) in enumerate(zip(old_items, matches, strict=True)):
        if match is None or text is None:
            continue
        new = fresh_items[match]
        values: dict[str, Any] = {}
        if item.get("id") != new.get("id"):
            values["id"] = new["id"]
        for key, default in (("name", None), ("trigger", None), ("enabled", True)):
            if item.get(key, default) != new.get(key, default):
                values[key] = new.get(key, default)
        if _effective(provider, item) != _effective(provider, new):
            if item.get("defaults", True) is not False:
                values["defaults"] = False
            values["mapping"] = new.get("mapping") or {}
        if values:
            text = filetext.set_keys(text, index, values)
    for index in sorted((i for i, j in enumerate(matches) if j is None), reverse=True):
        if text is not None:
            text = filetext.remove_item(text, index)
    blocks = []
    for j in range(len(fresh_items)):
        if j not in claimed:
            block = filetext.item_block(fresh, j)
            if block is None:
                return None
            blocks.append(block)
    if blocks and text is not None:
        text = filetext.append_items(text, blocks)
    if text is not None:
        text = filetext.set_segment_link(text, target.destination_id, target.region)
    return text


# --- push ------------------------------------------------------------------------------------


def unsupported(document: Document) -> list[Diagnostic]:
    """What Segment cannot run, located: cdpctl's own `@jmespath`."""
    found: list[Diagnostic] = []
    items = document.data.get("subscriptions") if isinstance(document.data, dict) else None

    def walk(value: Any, where: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
        if isinstance(value, dict):
            for key, child in value.items():
                if key == "@jmespath":
                    yield (*where, key)
                yield from walk(child, (*where, key))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                yield from walk(child, (*where, index))

    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        for where in walk(item.get("mapping"), ("subscriptions", index, "mapping")):
            found.append(
                document.diagnostic(
                    codes.SEGMENT_CANNOT_RUN,
                    f'subscription "{item.get("name")}": @jmespath is cdpctl\'s own directive; '
                    "Segment cannot run it",
                    where,
                    at_key=True,
                    hint="rewrite it with @path, @if or @template before pushing",
                )
            )
    return found


def write_file(path: Path, text: str) -> None:
    """Replace the file atomically (an interrupted write leaves the old file whole)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(slots=True)
class Pushed:
    applied: list[SubscriptionChange] = field(default_factory=list)
    ids_written: int = 0
    adopted: int = 0  # creates found already made (an answer lost before)
    not_written_back: list[str] = field(default_factory=list)


class _FileIds:
    """The mapping file, kept current with every id Segment gives."""

    def __init__(self, path: Path, target: Target, pushed: Pushed) -> None:
        self.path = path
        self.text = path.read_text(encoding="utf-8")
        self.target = target
        self.pushed = pushed
        self.linked = False

    def write(self, change: SubscriptionChange, sub_id: str) -> None:
        assert change.index is not None
        text = self.text
        if not self.linked:
            linked = filetext.set_segment_link(text, self.target.destination_id, self.target.region)
            text = linked if linked is not None else text
            self.linked = True
        edited = filetext.set_keys(text, change.index, {"id": sub_id})
        if edited is None:
            self.pushed.not_written_back.append(f'"{change.name}": id: {sub_id}')
            return
        self.text = edited
        write_file(self.path, edited)
        self.pushed.ids_written += 1


def push(
    client: Client,
    target: Target,
    destination: Destination,
    comparison: Comparison,
    *,
    prune: bool,
    report: Report,
) -> Pushed:
    """Apply the comparison's creates and updates (and deletes with `prune`), in file order,
    deletes last. A write whose answer is lost is looked up before it is tried again."""
    pushed = Pushed()
    ids = _FileIds(Path(destination.file.path), target, pushed)
    for change in comparison.changes:
        if change.id_to_write and change.kind not in (CREATE, UPDATE, DELETE):
            assert change.id is not None
            ids.write(change, change.id)
    pending = comparison.pending(prune=prune)
    pending.sort(key=lambda c: c.kind == DELETE)
    action_ids: dict[str, str] | None = None
    for number, change in enumerate(pending, 1):
        head = f'[{number}/{len(pending)}] {change.kind} "{change.name}"'
        if change.kind == CREATE:
            if action_ids is None:
                action_ids = _action_ids(client, target)
            sub_id, adopted = _create(client, target, change, action_ids)
            pushed.adopted += adopted
            ids.write(change, sub_id)
            report(f"{head}: {'found already created' if adopted else 'created'} ({sub_id})")
        elif change.kind == UPDATE:
            assert change.id is not None
            _retrying(
                client,
                api.update_subscription(
                    target.base, target.destination_id, change.id, patch_input(change), change.name
                ),
            )
            if change.id_to_write:
                ids.write(change, change.id)
            report(f"{head}: updated ({change.id})")
        else:
            assert change.id is not None
            request = api.delete_subscription(
                target.base, target.destination_id, change.id, change.name
            )
            _retrying(client, request, gone_ok=True)
            report(f"{head}: deleted ({change.id})")
        pushed.applied.append(change)
    return pushed


def _action_ids(client: Client, target: Target) -> dict[str, str]:
    body = _send(client, api.get_destination(target.base, target.destination_id))
    try:
        info = api.read_destination(body, f"destination {target.destination_id}")
        catalog = _send(client, api.get_catalog_destination(target.base, info.metadata_id))
        return api.read_actions(catalog, f"catalog entry {info.metadata_id}")
    except api.AnswerError as error:
        raise WorkspaceError(str(error)) from None


def _retrying(
    client: Client, request: api.ApiRequest, *, gone_ok: bool = False, attempts: int = 3
) -> Any:
    """An idempotent write (PATCH, DELETE) sent again when its answer was lost."""
    for attempt in range(1, attempts + 1):
        try:
            return client.send(request)
        except ApiFailure as failure:
            if gone_ok and failure.status == 404 and attempt > 1:
                return None  # the lost attempt had deleted it
            if not failure.ambiguous or attempt == attempts:
                raise WorkspaceError(str(failure)) from None
    return None


def _create(
    client: Client, target: Target, change: SubscriptionChange, action_ids: dict[str, str]
) -> tuple[str, bool]:
    """The new subscription's id, and whether it was found already made (the answer to an
    earlier create was lost). Before every retry the destination is listed again."""
    assert change.wanted is not None
    action_id = action_ids.get(change.wanted.action_slug)
    if action_id is None:
        raise WorkspaceError(
            f'create "{change.name}": the destination has no action '
            f'"{change.wanted.action_slug}" in Segment\'s catalog'
        )
    request = api.create_subscription(target.base, target.destination_id, change.wanted, action_id)
    for attempt in range(1, 4):
        if attempt > 1:
            existing = _made_already(client, target, change)
            if existing is not None:
                return existing, True
        try:
            body = client.send(request)
        except ApiFailure as failure:
            if not failure.ambiguous or attempt == 3:
                raise WorkspaceError(str(failure)) from None
            continue
        data = body.get("data") if isinstance(body, dict) else None
        item = None
        if isinstance(data, dict):
            item = data.get("destinationSubscription") or data.get("subscription")
        try:
            return api.read_subscription(item, request.purpose).id, False
        except api.AnswerError as error:
            raise WorkspaceError(str(error)) from None
    raise WorkspaceError(f"{request.purpose}: gave up")  # pragma: no cover - loop returns


def _made_already(client: Client, target: Target, change: SubscriptionChange) -> str | None:
    assert change.wanted is not None
    remote = read_remote(client, target)
    for sub in remote.subscriptions:
        if sub.name == change.wanted.name and sub.action_slug == change.wanted.action_slug:
            return sub.id
    return None


def comparison_for(destination: Destination, remote: Remote) -> Comparison:
    from cdpctl.workspace.compare import CompareError

    try:
        return compare(
            wanted(destination),
            remote.subscriptions,
            destination.file.path,
            frozenset(a.name for a in destination.provider.actions),
        )
    except CompareError as error:
        raise WorkspaceError(str(error)) from None
