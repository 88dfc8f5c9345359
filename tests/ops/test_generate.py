"""``python -m bot generate``: one job from the terminal, every kind, against the fake vendors."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.errors import UserError
from bot.net import Fetcher
from bot.ops.generate import add_arguments, generate
from bot.providers.http import RetryPolicy, VendorHttp
from storage import ledger
from storage.db import Database
from tests.backend import open_database
from tests.fakes import freesora, nanophoto, nanophoto_tvc, openai_videos

ROOT = Path(__file__).resolve().parents[2]


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
        Fetcher(allow_private=True) as private,  # the fake vendors serve their videos on 127.0.0.1
        VendorHttp(retry=RetryPolicy(base_delay=0.001, max_delay=0.01), fetcher=private) as client,
    ):
        yield client


async def run(db: Database, http: VendorHttp, profile, *argv: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    code = await generate(db, {profile.name: profile}, args(*argv), stream=out, http=http)
    return code, out.getvalue()


async def test_text_prints_progress_and_the_url(db: Database, http: VendorHttp) -> None:
    async with nanophoto.FakeNanophoto() as fake:
        fake.script_next(nanophoto.TaskScript(stages=("queuing", "generating")))
        code, out = await run(db, http, fake.profile(), "--prompt", "a lighthouse in fog")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "nano: sora2, 10 s — 4 credits"
    assert "running: queuing" in lines and "running: generating" in lines and "done" in lines
    assert lines[-1].startswith(fake.base_url + "/videos/")
    assert await ledger.invariant_violations(db) == []


async def test_image_file_is_fitted_and_downloaded(db: Database, http: VendorHttp, tmp_path: Path) -> None:
    picture = tmp_path / "cat.png"
    Image.new("RGB", (300, 200), "orange").save(picture)
    out_file = tmp_path / "video.mp4"
    async with openai_videos.FakeOpenAIVideos() as fake:
        fake.script_next(openai_videos.VideoScript(progress=(30, 70)))
        code, out = await run(
            db,
            http,
            fake.profile(),
            "--kind",
            "image",
            "--prompt",
            "the cat yawns",
            "--image",
            str(picture),
            "--out",
            str(out_file),
        )
    assert code == 0, out
    assert "running [######..............] 30%" in out
    (sent,) = fake.calls("create")
    assert sent.files["input_reference"].size == (720, 1280)  # fitted to the portrait size
    assert out_file.stat().st_size > 0 and f"saved {out_file}" in out


async def test_with_private_addresses_refused_only_the_served_file_gets_through(
    db: Database, tmp_path: Path
) -> None:
    """The operator's own file, served on 127.0.0.1 for the adapter, is the one exception: the video
    link the vendor answers (on 127.0.0.1 too, here) is still refused, and nothing is written."""
    picture = tmp_path / "cat.png"
    Image.new("RGB", (300, 200), "orange").save(picture)
    out_file = tmp_path / "video.mp4"
    strict = Fetcher()  # as in production: FETCH_ALLOW_PRIVATE off
    async with strict, VendorHttp(retry=RetryPolicy(base_delay=0.001), fetcher=strict) as client:
        async with openai_videos.FakeOpenAIVideos() as fake:
            fake.script_next(openai_videos.VideoScript())
            code, out = await run(
                db, client, fake.profile(), "--kind", "image", "--prompt", "x", "--image", str(picture)
            )
            assert code == 0, out
            (sent,) = fake.calls("create")
            assert sent.files["input_reference"].size == (720, 1280)
        async with nanophoto.FakeNanophoto() as fake:
            fake.script_next(nanophoto.TaskScript())
            with pytest.raises(UserError, match="video link is refused"):
                await run(db, client, fake.profile(), "--prompt", "a lighthouse", "--out", str(out_file))
            assert fake.calls("video") == []
    assert not out_file.exists()


async def test_local_image_for_a_vendor_that_downloads_itself_is_refused(
    db: Database, http: VendorHttp, tmp_path: Path
) -> None:
    picture = tmp_path / "cat.png"
    Image.new("RGB", (10, 10)).save(picture)
    async with nanophoto.FakeNanophoto() as fake:
        from bot.errors import UserError

        with pytest.raises(UserError, match="public https:// URL"):
            await run(db, http, fake.profile(), "--kind", "image", "--prompt", "x", "--image", str(picture))
        assert fake.requests == []


async def test_tvc_shows_its_steps_and_storyboard(db: Database, http: VendorHttp) -> None:
    async with nanophoto_tvc.FakeNanophotoTvc() as fake:
        fake.script_next(nanophoto_tvc.TvcScript())
        code, out = await run(db, http, fake.profile(), "--kind", "tvc", "--theme", "Trail shoes")
    assert code == 0, out
    assert "step 1/3" in out and "step 2/3" in out and "storyboard image: http://127.0.0.1" in out


async def test_storyboard_from_a_file_of_shots(db: Database, http: VendorHttp, tmp_path: Path) -> None:
    shots = tmp_path / "shots.txt"
    shots.write_text("4 | Skyline at dusk\n6 | A window lights up\n", encoding="utf-8")
    async with freesora.FakeFreeSora() as fake:
        code, out = await run(db, http, fake.profile(), "--kind", "storyboard", "--shots", str(shots))
    assert code == 0, out
    body = fake.calls("create")[0].json
    assert body["shots"] == [
        {"Scene": "Skyline at dusk", "duration": 4},
        {"Scene": "A window lights up", "duration": 6},
    ]


async def test_a_failed_job_exits_1_with_the_reason(db: Database, http: VendorHttp) -> None:
    async with nanophoto.FakeNanophoto() as fake:
        fake.script_next(nanophoto.TaskScript(outcome="failed"))
        code, out = await run(db, http, fake.profile(), "--prompt", "x")
    assert code == 1 and "failed: Sora 2 could not make this video; your 4 credits were returned" in out
    assert await ledger.balance(db, 0, 0) > 0  # the hold came back


async def test_the_command_line_end_to_end(tmp_path: Path) -> None:
    async with nanophoto.FakeNanophoto() as fake:
        (tmp_path / "providers.toml").write_text(
            f'[profiles.nano]\nkind = "nanophoto"\nbase_url = "{fake.base_url}"\nkey_env = ["NANO_KEY"]\n'
            "[profiles.nano.timing]\nexpected = 0.05\nfirst_poll = 0.01\npoll_interval = 0.01\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
        env.update(PYTHONPATH=str(ROOT), NANO_KEY=fake.keys["key-a"], DATABASE_PATH=str(tmp_path / "d.db"))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "generate",
            "--prompt",
            "a paper boat",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()
    assert stdout.decode().strip().splitlines()[-1].startswith(fake.base_url)
    assert fake.keys["key-a"] not in stdout.decode() + stderr.decode()
