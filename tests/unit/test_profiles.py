"""Provider profiles: a bad file names the file, the profile and the field; keys stay secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.providers.profiles import ProfileError, load_profiles

GOOD = """
[profiles.main]
kind = "nanophoto"
base_url = "https://nanophoto.ai"
key_env = ["NANO_A", "NANO_B"]
requests_per_hour = 100
prices = { "sora2:10" = 5 }

[profiles.main.timing]
first_poll = 1.5

[profiles.spare]
kind = "nanophoto"
base_url = "https://nanophoto.ai"
key_env = "NANO_B"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "providers.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_several_profiles_of_one_kind_with_several_keys(tmp_path: Path) -> None:
    profiles = load_profiles(write(tmp_path, GOOD), {"NANO_A": "sk-a", "NANO_B": "sk-b"})
    assert set(profiles) == {"main", "spare"}
    main = profiles["main"]
    assert [k.name for k in main.keys] == ["NANO_A", "NANO_B"]
    assert main.keys[0].secret.get_secret_value() == "sk-a"
    assert "sk-a" not in repr(main)
    assert main.timing.first_poll == 1.5 and main.timing.timeout == 1200
    assert main.prices == {"sora2:10": 5}
    assert [k.name for k in profiles["spare"].keys] == ["NANO_B"]


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        (GOOD, {"NANO_A": "a"}, "profile `main`: `key_env` names NANO_B"),
        (
            GOOD.replace("requests_per_hour = 100", "requests_per_hour = 0"),
            {"NANO_A": "a", "NANO_B": "b"},
            "profile `main`: field `requests_per_hour`",
        ),
        (
            GOOD.replace("first_poll = 1.5", "first_pol = 1.5"),
            {"NANO_A": "a", "NANO_B": "b"},
            "profile `main`: field `timing.first_pol`",
        ),
        (
            GOOD.replace(
                'base_url = "https://nanophoto.ai"\nkey_env = "NANO_B"',
                'base_url = "nanophoto.ai"\nkey_env = "NANO_B"',
            ),
            {"NANO_A": "a", "NANO_B": "b"},
            "profile `spare`: field `base_url`: Value error, must start with http",
        ),
        ("[profiles]\n", {}, "no [profiles.<name>] tables"),
        ("not toml = = 1", {}, "not valid TOML"),
    ],
)
def test_bad_file_names_file_profile_and_field(
    tmp_path: Path, text: str, env: dict[str, str], expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="file not found"):
        load_profiles(tmp_path / "absent.toml", {})
