"""Storyboard text → shots: every refusal names the line to fix."""

from __future__ import annotations

import pytest

from bot.engine.shots import MAX_SHOTS, PLACEHOLDER_LIMIT, ShotError, example, parse_shots
from bot.errors import UserError
from bot.providers.base import Shot


def test_parses_lines_with_decimals_suffixes_and_blank_lines() -> None:
    text = "5 | Establishing shot of a skyline at dusk\n\n  2.5s | A taxi pulls up \n2,5 sec|Rain on glass | reflections\n5|Close-up"
    assert parse_shots(text, 15) == (
        Shot(scene="Establishing shot of a skyline at dusk", duration=5.0),
        Shot(scene="A taxi pulls up", duration=2.5),
        Shot(scene="Rain on glass | reflections", duration=2.5),
        Shot(scene="Close-up", duration=5.0),
    )


def test_decimal_sums_are_exact() -> None:
    shots = parse_shots("\n".join(["0.1 | a", "0.2 | b", "9.7 | c"]), 10)
    assert [s.duration for s in shots] == [0.1, 0.2, 9.7]


@pytest.mark.parametrize(
    ("text", "total", "message"),
    [
        ("", 10, "Write at least one shot"),
        ("  \n\n ", 10, "Write at least one shot"),
        ("5 | a\n5 | b\nA taxi pulls up", 15, "Line 3 has no duration: write `5 | what happens`."),
        ("5 | a\n | b", 10, "Line 2 has no duration"),
        ("five | a", 10, "Line 1: `five` is not a number of seconds"),
        ("nan | a", 10, "Line 1: `nan` is not a number of seconds"),
        ("10 | a\n0 | b", 10, "Line 2: a shot must last more than 0 seconds"),
        ("11 | a\n-1 | b", 10, "Line 2: a shot must last more than 0 seconds (it says -1)"),
        ("5 |   ", 5, "Line 1 has no scene"),
        ("5 | a\n5 | b", 15, "The shots add up to 10 s but the video is 15 s"),
        ("7.5 | a", 10, "add up to 7.5 s"),
    ],
)
def test_refusals_name_the_line(text: str, total: int, message: str) -> None:
    with pytest.raises(ShotError) as caught:
        parse_shots(text, total)
    assert message in caught.value.message
    assert isinstance(caught.value, UserError)


def test_at_most_fifteen_shots() -> None:
    assert len(parse_shots("\n".join("1 | s" for _ in range(MAX_SHOTS)), MAX_SHOTS)) == MAX_SHOTS
    with pytest.raises(ShotError, match="at most 15 shots; you wrote 16"):
        parse_shots("\n".join("1 | s" for _ in range(16)), 16)


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("total", [1, 2, 4, 5, 8, 10, 12, 15, 20, 25, 60, 168])
def test_the_example_adds_up_to_the_length_and_fits_the_placeholder(total: int, locale: str) -> None:
    """Cut to Discord's 100 characters, the old example lost its last line (10 s on a 15 s video)."""
    text = example(total, None, locale=locale)
    assert len(text) <= PLACEHOLDER_LIMIT
    assert sum(s.duration for s in parse_shots(text, total)) == total


@pytest.mark.parametrize("max_shots", [1, 2, 3, 21])
def test_the_example_of_a_fixed_length_model_is_one_scene_a_line(max_shots: int) -> None:
    """Veo: 8 s a shot, the scenes alone; never more shots than the model takes."""
    text = example(None, 8, max_shots, locale="zh-CN")
    shots = parse_shots(text, 0, seconds_per_shot=8, max_shots=max_shots)
    assert 1 <= len(shots) <= min(3, max_shots) and "|" not in text and len(text) <= PLACEHOLDER_LIMIT


def test_the_example_never_has_more_shots_than_allowed() -> None:
    assert len(parse_shots(example(15, None, 2), 15, max_shots=2)) == 2
