"""The living card, rendered offline: timestamps that count by themselves, the progress bar, the
overdue wording, the place in line only when someone is ahead, the vendor's link only when the video
was not uploaded, stage words in the reader's language, and no profile name anywhere."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import discord
import pytest

from bot.engine.events import JobEvent
from bot.engine.views import JobView, view_of
from bot.i18n import EN, ZH
from cogs import card, render
from storage.jobs import JobRow
from storage.states import JobState

HAN = re.compile(r"[\u4e00-\u9fff]")
CREATED = 1_760_000_000.0
OVERDUE_EN = "⌛ Taking longer than usual — still working on it"


def view(**changes: Any) -> JobView:
    base: dict[str, Any] = dict.fromkeys(f.name for f in dataclasses.fields(JobRow))
    base.update(
        id=7,
        guild_id=1,
        channel_id=2,
        user_id=3,
        profile="internal-profile-name",
        kind="text",
        model="sora2",
        model_label="Sora 2",
        duration=10,
        request_json=json.dumps({"kind": "text", "prompt": "a paper boat"}),
        cost=4,
        state="running",
        polls=0,
        created_at=CREATED,
        submitted_at=CREATED + 5,
        updated_at=CREATED,
    )
    base.update(changes)
    base["state"] = JobState(str(base["state"]))
    return view_of(JobRow(**base))


def fields(embed: discord.Embed) -> dict[str, str]:
    return {str(f.name): str(f.value) for f in embed.fields}


def event(job: JobView, **kw: Any) -> JobEvent:
    return JobEvent(job, **{"at": CREATED + 60, **kw})


def test_times_are_discord_timestamps_that_count_by_themselves() -> None:
    shown = fields(render.job_embed(event(view(), eta_seconds=120.0), now=CREATED + 61))
    assert shown["Started"] == f"<t:{int(CREATED)}:R>"
    assert shown["Ready"] == f"<t:{int(CREATED + 60 + 120)}:R>"  # the moment, not "2m 0s"
    assert "Elapsed" not in shown


def test_timestamps_go_in_field_values_never_in_names_titles_or_footers() -> None:
    embed = render.job_embed(event(view(), eta_seconds=120.0), now=CREATED + 61)
    assert "<t:" not in (embed.title or "") and "<t:" not in str(embed.footer.text)
    assert all("<t:" not in str(f.name) for f in embed.fields)


@pytest.mark.parametrize("locale", [EN, ZH])
def test_an_overdue_job_says_it_takes_longer_never_zero(locale: str) -> None:
    shown = fields(render.job_embed(event(view(), eta_seconds=0.0), now=CREATED + 61, locale=locale))
    ready = shown["Ready" if locale == EN else "预计完成"]
    assert ready == OVERDUE_EN if locale == EN else HAN.search(ready) and "⌛" in ready
    assert "0s" not in json.dumps(list(shown.values())) and "0 秒" not in json.dumps(list(shown.values()))


def test_an_estimate_that_ran_out_since_the_event_reads_overdue_too() -> None:
    late = fields(render.job_embed(event(view(), eta_seconds=30.0), now=CREATED + 200))
    assert late["Ready"] == OVERDUE_EN


def test_a_finished_job_shows_how_long_it_took_as_text() -> None:
    done = view(state="succeeded", finished_at=CREATED + 133)
    shown = fields(render.job_embed(event(done)))
    assert shown["Elapsed"] == "2m 13s" and "Started" not in shown and "Ready" not in shown
    quick = view(state="failed", finished_at=CREATED + 0.2)
    assert fields(render.job_embed(event(quick)))["Elapsed"] == "under a second"


@pytest.mark.parametrize(("pct", "bar"), [(0, "░" * 10), (42, "████░░░░░░"), (100, "█" * 10)])
def test_a_known_percent_shows_a_bar(pct: int, bar: str) -> None:
    status = card.status_line(event(view(progress_pct=pct, stage="generating")))
    assert status == f"🎬 Rendering — generating\n`{bar}` {pct}% done"


def test_no_percent_no_bar() -> None:
    assert "`" not in card.status_line(event(view(stage="generating")))


@pytest.mark.parametrize(
    ("stage", "en", "zh"),
    [
        ("queuing", "waiting its turn at the provider", "在服务商处排队"),
        ("Queued", "waiting its turn at the provider", "在服务商处排队"),
        ("in_progress", "in progress", "制作中"),
        ("generating", "generating", "生成中"),
        ("finalizing", "finishing", "收尾中"),
    ],
)
def test_vendor_stage_words_are_translated(stage: str, en: str, zh: str) -> None:
    job = view(stage=stage)
    assert card.status_line(event(job), EN) == f"🎬 Rendering — {en}"
    shown = card.status_line(event(job), ZH)
    assert shown == f"🎬 生成中——{zh}" and stage not in shown


def test_an_unknown_stage_word_is_shown_as_the_vendor_wrote_it_inert() -> None:
    assert card.status_line(event(view(stage="**moderating**"))) == "🎬 Rendering — \\*\\*moderating\\*\\*"


def test_a_tvc_step_names_the_step_in_words_and_its_stage() -> None:
    job = view(
        kind="tvc", request_json='{"kind": "tvc", "ad_theme": "x"}', step=3, step_count=3, stage="queuing"
    )
    assert card.status_line(event(job)) == (
        "🎬 Step 3/3: Rendering the video — waiting its turn at the provider"
    )
    zh = card.status_line(event(job), ZH)
    assert zh == "🎬 第 3/3 步：生成视频，当前：在服务商处排队"


@pytest.mark.parametrize(
    ("position", "length", "en"),
    [
        (None, None, "⏳ Waiting in the queue"),
        (1, 4, "⏳ Next in line"),
        (2, 4, "⏳ Waiting in the queue — position 2 of 4"),
        (3, None, "⏳ Waiting in the queue — position 3"),
    ],
)
def test_the_place_in_line_only_when_someone_is_ahead(
    position: int | None, length: int | None, en: str
) -> None:
    queued = event(view(state="queued", submitted_at=None), queue_position=position, queue_length=length)
    assert card.status_line(queued) == en
    assert HAN.search(card.status_line(queued, ZH))


def test_the_vendor_link_only_when_the_video_was_not_uploaded() -> None:
    done = view(state="succeeded", finished_at=CREATED + 90, video_url="https://cdn.example/v.mp4")
    uploaded = fields(render.job_embed(event(done)))
    assert "Video" not in uploaded and "cdn.example" not in json.dumps(uploaded)
    linked = fields(render.job_embed(event(done), video_link=True))
    assert linked["Video"] == "[Open the video](https://cdn.example/v.mp4)"
    saved = view(
        state="succeeded", finished_at=CREATED + 90, video_url="https://x/v.mp4", video_path="v/7.mp4"
    )
    assert "Video" not in fields(render.job_embed(event(saved), video_link=True))  # needs the vendor key


@pytest.mark.parametrize("locale", [EN, ZH])
def test_no_profile_name_on_the_card(locale: str) -> None:
    for state in ("queued", "running", "succeeded", "failed"):
        embed = render.job_embed(event(view(state=state, finished_at=CREATED + 9)), locale=locale)
        assert "internal-profile-name" not in json.dumps(embed.to_dict(), ensure_ascii=False)
        assert "Sora 2" in fields(embed)["Model" if locale == EN else "模型"]


def test_every_word_on_a_running_card_is_chinese_in_zh_cn() -> None:
    job = view(stage="queuing", progress_pct=30)
    embed = render.job_embed(event(job, eta_seconds=90.0), now=CREATED + 61, locale=ZH)
    for f in embed.fields:
        assert HAN.search(str(f.name)), f.name
    assert "queuing" not in json.dumps(embed.to_dict(), ensure_ascii=False)
    assert HAN.search(str(embed.footer.text))


def test_storyboard_shots_are_marked_done_under_way_and_to_come() -> None:
    shots = [
        {"scene": "a harbour at dawn", "duration": 5},
        {"scene": "gulls", "duration": 5},
        {"scene": "a boat", "duration": 5},
    ]
    job = view(
        kind="storyboard",
        request_json=json.dumps({"kind": "storyboard", "shots": shots, "duration": 15}),
        step=2,
        step_count=3,
        stage="generating",
    )
    lines = (render.shot_lines(job) or "").splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["✅", "⏳", "▫️"]
    assert card.status_line(event(job)) == "🎬 Shot 2/3: generating"
