"""What nanophoto's Veo 3.1 offers (profile kind ``nanophoto_veo``): its one model's numbers and rules.

docs/vendors.md, "nanophoto Veo 3.1". Kept apart from the wire protocol (``nanophoto_veo.py``) so the
offer reads in one place: text, first/last frame (one or two pictures), one to three reference
pictures, and storyboards of one to twenty-one 8-second shots; 720p, 1080p or 4k — the higher two for
a single shot only (V7: lowercase ``4k``); 10 credits per shot at 720p, 14 at 1080p, 30 at 4k.

V8: no prompt limit is documented; we cap each shot's prompt at 1000 characters (SeeDance's). A
storyboard's overall ``prompt`` has no Veo field, so it goes before every shot's scene on its own
line (the shots are made one by one, and each needs the shared setting), and the cap counts both.
"""

from __future__ import annotations

from bot.errors import InvalidRequest
from bot.i18n import msg
from bot.providers.base import AnyRequest, Kind, StoryboardRequest
from bot.providers.capabilities import Capabilities, ModelSpec, PricePoint, ShotRules
from bot.providers.profiles import ProviderProfile, narrowed

VEO_MODEL = "veo-3.1"
SHOT_SECONDS = 8
MAX_SHOTS = 21
RESOLUTIONS: tuple[str, ...] = ("720p", "1080p", "4k")  # V7: lowercase
MAX_PROMPT = 1000  # V8
# Vendor credits (docs/vendors.md): 10 per shot at 720p; 1080p and 4k single shot only.
VEO_PRICES: dict[PricePoint, int] = {
    **{PricePoint(VEO_MODEL, SHOT_SECONDS * n, "720p"): 10 * n for n in range(1, MAX_SHOTS + 1)},
    PricePoint(VEO_MODEL, SHOT_SECONDS, "1080p"): 14,
    PricePoint(VEO_MODEL, SHOT_SECONDS, "4k"): 30,
}


def shot_prompts(req: StoryboardRequest) -> list[str]:
    """V8: each shot's prompt, the storyboard's overall prompt first when there is one."""
    head = req.prompt.strip()
    return [f"{head}\n{s.scene.strip()}" if head else s.scene.strip() for s in req.shots]


class VeoCapabilities(Capabilities):
    """``Capabilities`` plus V8 for storyboards: the overall prompt counts in every shot's prompt."""

    def validate_request(self, req: AnyRequest) -> None:
        super().validate_request(req)
        if not isinstance(req, StoryboardRequest) or not req.prompt.strip():
            return
        limit = self.spec(self.resolve_model(req)).max_prompt_chars
        for n, prompt in enumerate(shot_prompts(req), start=1):
            if len(prompt) > limit:
                room = max(limit - len(req.prompt.strip()) - 1, 0)
                raise InvalidRequest(
                    f"shot {n}",
                    "invalid.chars_long",
                    msg("allowed.at_most_chars_with_prompt", max=room),
                    length=len(prompt),
                )


def veo_capabilities(profile: ProviderProfile) -> VeoCapabilities:
    """Veo's one model; a profile's ``durations`` (multiples of 8 s) caps the shots by its longest."""
    narrowed(
        profile.name, "models", profile.models, (VEO_MODEL,), offer=f"nanophoto Veo offers only `{VEO_MODEL}`"
    )
    lengths = tuple(SHOT_SECONDS * n for n in range(1, MAX_SHOTS + 1))
    secs = narrowed(
        profile.name, "durations", profile.durations, lengths, offer="Veo makes 8 s per shot, 8 to 168 s"
    )
    spec = ModelSpec(
        name=VEO_MODEL,
        label="Veo 3.1",
        family="veo",
        kinds=frozenset({Kind.TEXT, Kind.IMAGE, Kind.REFERENCE, Kind.STORYBOARD}),
        durations=(SHOT_SECONDS,),
        resolutions=RESOLUTIONS,
        default_resolution="720p",
        end_frame=True,
        max_references=3,
        shots=ShotRules(
            max_shots=max(secs) // SHOT_SECONDS,
            seconds_per_shot=SHOT_SECONDS,
            multi_shot_resolutions=("720p",),
        ),
        max_prompt_chars=MAX_PROMPT,
        prices=VEO_PRICES,
    )
    return VeoCapabilities(specs=(spec,), default_model=VEO_MODEL, image_by_url=True)  # public URLs only


def shot_count(req: AnyRequest) -> int:
    return len(req.shots) if isinstance(req, StoryboardRequest) else 1
