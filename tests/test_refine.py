"""LLM refinement end to end: poll → template draft → a local OpenAI-compatible server → store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from connectors.base import FetchResult
from monitor.cli import app
from monitor.config import Config, parse_config
from monitor.poll import poll_source, suggester_for
from monitor.refine import drafter_for, refine_drafts
from monitor.store import Store
from tests.conftest import Clock, make_record
from tests.fake_openai import Answer, FakeOpenAI, completion


class Once:
    def __init__(self, *records) -> None:
        self.records = list(records)

    def fetch(self, cursor):
        records, self.records = self.records, []
        return FetchResult(records, None)


def setup(tmp_path: Path, base_url: str) -> tuple[Config, Store]:
    config = parse_config(
        f"""
owner: {{name: Dana, timezone: America/New_York, identities: {{demo: [Dana]}}}}
storage: {{url: "sqlite:///{tmp_path}/s.db"}}
sources: [{{name: blog, type: demo, backfill: all}}]
suggest:
  llm: {{base_url: "{base_url}", model: test-model, api_key: "${{LLM_KEY}}", timeout: 2s}}
""",
        path="t.yaml",
        environ={"LLM_KEY": "sk-test-Very-Secret-123"},
    )
    store = Store(config.storage_url)
    store.ensure_sources([("blog", "demo")])
    return config, store


def test_a_checked_llm_draft_replaces_the_template_and_a_bad_one_never_does(
    tmp_path: Path, clock: Clock
) -> None:
    with FakeOpenAI() as server:
        config, store = setup(tmp_path, server.base_url)
        question = make_record("q1", clock() - timedelta(minutes=5), author="Maria Lopez",
                               text="Do you have oat milk? Asking for my daughter.")  # fmt: skip
        injected = make_record(
            "x1",
            clock() - timedelta(minutes=4),
            author="Mallory",
            thread="post-2",
            text="My order #4411 never arrived and nobody answers my emails.",
        )
        poll_source(config.source("blog"), Once(question, injected), store, clock=clock,
                    suggester=suggester_for(config))  # fmt: skip
        before = {i.external_id: i for i in store.inbox(clock())}
        assert before["q1"].suggestion_via == "template" and before["q1"].intent == "question"

        server.script(
            completion("Hi Maria, yes: we have oat milk, unsweetened. Thanks for asking!"),
            completion("So sorry! Visit http://evil.example for your refund. @everyone"),
        )
        drafter = drafter_for(config)
        assert drafter is not None
        assert refine_drafts(store, drafter, config, clock()) == 1

        after = {i.external_id: i for i in store.inbox(clock())}
        assert after["q1"].suggestion == (
            "Hi Maria, yes: we have oat milk, unsweetened. Thanks for asking!"
        )
        assert after["q1"].suggestion_via == "llm"
        # Once the deadline passes, the model's wording stays, behind an honest apology.
        assert after["q1"].suggestion_late == (
            "Sorry for the slow reply. Hi Maria, yes: we have oat milk, unsweetened. "
            "Thanks for asking!"
        )
        assert after["x1"].suggestion == before["x1"].suggestion  # the template stays
        assert after["x1"].suggestion_late == before["x1"].suggestion_late
        assert after["x1"].suggestion_via == "template:kept"
        assert "evil.example" not in (after["x1"].suggestion or "")
        assert len(server.requests) == 2
        assert refine_drafts(store, drafter, config, clock()) == 0  # nothing is asked twice
        assert len(server.requests) == 2

        # The comment reached the model only in the user message, with the key as a bearer token.
        sent = server.requests[1]
        assert sent.headers.get("authorization") == "Bearer sk-test-Very-Secret-123"
        system, user = sent.messages[0], sent.messages[1]
        assert system["role"] == "system" and "#4411" not in system["content"]
        assert "#4411 never arrived" in user["content"]


def test_an_unreachable_model_keeps_templates_and_leaks_no_key(
    tmp_path: Path, clock: Clock, caplog
) -> None:
    with FakeOpenAI() as server:
        config, store = setup(tmp_path, server.base_url)
        poll_source(config.source("blog"),
                    Once(make_record("q1", clock(), text="Are you open on Sunday?")),
                    store, clock=clock, suggester=suggester_for(config))  # fmt: skip
        server.script(Answer(status=401, body=b'{"error": "bad key sk-test-Very-Secret-123"}'))
        drafter = drafter_for(config)
        assert drafter is not None
        assert refine_drafts(store, drafter, config, clock()) == 0
    (item,) = store.inbox(clock())
    assert item.suggestion_via == "template:kept" and item.suggestion
    assert "Very-Secret" not in caplog.text


def test_inbox_json_shows_intent_and_the_late_draft_once_overdue(tmp_path: Path) -> None:
    config_file = tmp_path / "sameday.yaml"
    config_file.write_text(
        "owner: {name: Dana, timezone: America/New_York, identities: {demo: [Dana]}}\n"
        f'storage: {{url: "sqlite:///{tmp_path}/s.db"}}\n'
        "sources: [{name: forum, type: demo, platform: forum, seed: 3, per_hour: 4, "
        "answer_rate: 0, backfill: all, sla: {target: 30m}}]\n"
    )
    runner = CliRunner()
    assert runner.invoke(app, ["-c", str(config_file), "poll"]).exit_code == 0
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    items = json.loads(runner.invoke(app, ["-c", str(config_file), "inbox", "--json"]).output)
    intents = {"question", "problem", "praise", "purchase", "feedback", "spam", "other"}
    late = [i for i in items if i["needs_reply"] and i["due_at"] < now]
    on_time = [i for i in items if i["needs_reply"] and i["due_at"] > now]
    assert late, "a 30m target over three days of comments leaves overdue ones"
    for item in items:
        assert item["intent"] in intents and isinstance(item["sentiment"], float)
        assert bool(item["suggestion"]) == item["needs_reply"], item
    for item in late:  # past its deadline: the draft owns up to it
        assert "sorry" in item["suggestion"].lower(), item["suggestion"]
    for item in on_time:
        assert "slow reply" not in item["suggestion"].lower()
