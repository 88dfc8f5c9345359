"""``python -m bot generate`` for every Veo 3.1 and SeeDance 1.5 Pro mode, against their fakes.

Each mode needs its own options (resolution, last frame, reference pictures, audio, fixed lens,
fixed-length shots); this checks that an operator can ask for every one of them from the terminal
and that what reaches the vendor is what was asked.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.errors import UserError
from bot.net import Fetcher
from bot.ops.generate import add_arguments, generate
from bot.providers.http import RetryPolicy, VendorHttp
from storage import ledger
from storage.db import Database
from tests.backend import open_database
from tests.fakes.nanophoto import TaskScript
from tests.fakes.nanophoto_seedance import FakeNanophotoSeedance
from tests.fakes.nanophoto_veo import FakeNanophotoVeo, VeoScript

FIRST = "https://cdn.example.com/first.png"
LAST = "https://cdn.example.com/last.png"


def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "cli.db")
    yield database
    await database.close()


@pytest.fixture
async def http() -> AsyncIterator[VendorHttp]:
    async with (
        Fetcher(allow_private=True) as private,  # the fakes serve their videos on 127.0.0.1
        VendorHttp(retry=RetryPolicy(base_delay=0.001, max_delay=0.01), fetcher=private) as client,
    ):
        yield client


async def run(db: Database, http: VendorHttp, fake: Any, *argv: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    profile = fake.profile()
    code = await generate(db, {profile.name: profile}, args(*argv), stream=out, http=http)
    assert await ledger.invariant_violations(db) == []
    return code, out.getvalue().splitlines()


# --------------------------------------------------------------------------- Veo 3.1


async def test_veo_text_defaults_to_one_8_s_shot_at_720p(db: Database, http: VendorHttp) -> None:
    async with FakeNanophotoVeo() as fake:
        code, lines = await run(db, http, fake, "--prompt", "a paper boat")
    assert code == 0, lines
    assert lines[0] == "nano-veo: veo-3.1, 8 s, 720p — 10 credits"
    (shot,) = fake.calls("generate")[0].json["shots"]
    assert shot["generationType"] == "TEXT_2_VIDEO" and lines[-1].startswith(fake.base_url + "/videos/task_")


async def test_veo_first_and_last_frame_at_1080p(db: Database, http: VendorHttp) -> None:
    async with FakeNanophotoVeo() as fake:
        code, lines = await run(
            db, http, fake, "--kind", "image", "--prompt", "it blooms", "--image", FIRST, "--end-image", LAST,
            "--resolution", "1080p", "--orientation", "landscape",
        )  # fmt: skip
    assert code == 0, lines
    assert lines[0] == "nano-veo: veo-3.1, 8 s, 1080p — 14 credits"
    body = fake.calls("generate")[0].json
    assert body["resolution"] == "1080p" and fake.calls("status")[0].json["resolution"] == "1080p"
    assert body["shots"][0] | {"prompt": "-"} == {
        "id": "shot-1",
        "prompt": "-",
        "generationType": "FIRST_AND_LAST_FRAMES_2_VIDEO",
        "aspectRatio": "16:9",
        "imageUrls": [FIRST, LAST],
    }


async def test_veo_reference_pictures_at_4k(db: Database, http: VendorHttp) -> None:
    refs = [f"https://cdn.example.com/ref{n}.png" for n in (1, 2, 3)]
    async with FakeNanophotoVeo() as fake:
        code, lines = await run(
            db, http, fake, "--kind", "reference", "--prompt", "the same fox", "--resolution", "4k",
            *[a for r in refs for a in ("--reference", r)],
        )  # fmt: skip
    assert code == 0, lines
    assert lines[0] == "nano-veo: veo-3.1, 8 s, 4k — 30 credits"
    shot = fake.calls("generate")[0].json["shots"][0]
    assert (shot["generationType"], shot["imageUrls"]) == ("REFERENCE_2_VIDEO", refs)


async def test_veo_storyboard_of_scene_lines(db: Database, http: VendorHttp, tmp_path: Path) -> None:
    shots = tmp_path / "shots.txt"
    shots.write_text("Skyline at dusk\n\nA window lights up\n8 | She looks out\n", encoding="utf-8")
    async with FakeNanophotoVeo() as fake:
        fake.script_next(VeoScript(polls_per_shot=1))
        code, lines = await run(
            db, http, fake, "--kind", "storyboard", "--shots", str(shots), "--prompt", "Noir"
        )
    assert code == 0, lines
    assert lines[0] == "nano-veo: veo-3.1, 24 s, 720p — 30 credits"
    assert "step 1/3: working" in lines and "step 3/3: working" in lines
    sent = fake.calls("generate")[0].json["shots"]
    assert [s["prompt"] for s in sent] == [
        "Noir\nSkyline at dusk",
        "Noir\nA window lights up",
        "Noir\nShe looks out",
    ]
    assert lines[-1] == fake.video_url(next(iter(fake.jobs)))  # the joined video


@pytest.mark.parametrize(
    "argv",
    [
        ("--kind", "image", "--prompt", "x", "--image", FIRST, "--end-image", "last.png"),
        ("--kind", "reference", "--prompt", "x", "--reference", "ref.png"),
        ("--kind", "reference", "--prompt", "x"),
    ],
    ids=["local-end-image", "local-reference", "no-reference"],
)
async def test_veo_pictures_must_be_public_links(
    db: Database, http: VendorHttp, argv: tuple[str, ...]
) -> None:
    async with FakeNanophotoVeo() as fake:
        with pytest.raises(UserError, match=r"--end-image|--reference"):
            await run(db, http, fake, *argv)
        assert fake.requests == []


# --------------------------------------------------------------------------- SeeDance 1.5 Pro


async def test_seedance_text_with_every_switch(db: Database, http: VendorHttp) -> None:
    async with FakeNanophotoSeedance() as fake:
        code, lines = await run(
            db, http, fake, "--prompt", "waves", "--duration", "12", "--resolution", "1080p", "--audio", "--fixed-lens",
        )  # fmt: skip
    assert code == 0, lines
    assert lines[0] == "nano-seedance: seedance-1.5-pro, 12 s, 1080p, audio — 44 credits"
    body = fake.calls("generate")[0].json
    assert (body["duration"], body["resolution"], body["generateAudio"], body["fixedLens"]) == (
        "12",
        "1080p",
        True,
        True,
    )


async def test_seedance_image_defaults_to_4_s_at_720p(db: Database, http: VendorHttp) -> None:
    async with FakeNanophotoSeedance() as fake:
        fake.script_next(TaskScript(stages=("generating",)))
        code, lines = await run(db, http, fake, "--kind", "image", "--prompt", "it waves", "--image", FIRST)
    assert code == 0, lines
    assert lines[0] == "nano-seedance: seedance-1.5-pro, 4 s, 720p — 4 credits"
    body = fake.calls("generate")[0].json
    assert (body["mode"], body["imageUrls"], body["generateAudio"]) == ("imageToVideo", [FIRST], False)


async def test_seedance_refuses_a_length_it_does_not_make(db: Database, http: VendorHttp) -> None:
    async with FakeNanophotoSeedance() as fake:
        with pytest.raises(UserError, match="4 s, 8 s, 12 s"):
            await run(db, http, fake, "--prompt", "x", "--duration", "10")
        assert fake.requests == []
