"""``doctor``'s checks of the models: none retired where a server still relies on it, none the
vendor said it stopped serving, and with ``--online`` whether each configured model is still served.

Models come and go (OpenAI removed Sora 2 on 2026-09-24), so an installation can look healthy while
its default model is gone. The local check reads the profiles and the database; the online one asks
the vendors that have a way to say (an OpenAI-compatible ``GET /v1/models``) and says plainly where
a vendor offers none.
"""

from __future__ import annotations

import time

from bot.engine.availability import LAPSE
from bot.ops.checks import CheckResult, Context, fail, ok, warn
from bot.providers.base import ProviderError, VideoProvider
from bot.providers.http import RetryPolicy, TransportError, VendorHttp
from bot.providers.profiles import ProfileError, ProviderProfile
from bot.providers.registry import build_provider
from storage import guilds, model_status


def _providers(
    profiles: dict[str, ProviderProfile], http: VendorHttp
) -> tuple[dict[str, VideoProvider], list[CheckResult]]:
    built: dict[str, VideoProvider] = {}
    problems: list[CheckResult] = []
    for name, profile in profiles.items():
        try:
            built[name] = build_provider(profile, http)
        except ProfileError as exc:
            problems.append(fail(f"models {name}", str(exc)))
    return built, problems


async def check_models(ctx: Context) -> list[CheckResult]:
    """Every profile keeps a live model; no server's default is retired; no model the vendor gave up."""
    if not ctx.profiles:
        return []
    async with VendorHttp() as http:  # builds the adapters only: nothing is sent
        providers, out = _providers(ctx.profiles, http)
    for name, provider in providers.items():
        caps = provider.capabilities
        retired = [s.name for s in caps.specs if s.retired]
        if not caps.live_models:
            out.append(
                fail(f"models {name}", "every model is retired: remove the profile or name a live model")
            )
        elif retired:
            out.append(ok(f"models {name}", f"{', '.join(caps.live_models)} (retired: {', '.join(retired)})"))
        else:
            out.append(ok(f"models {name}", ", ".join(caps.live_models)))
    if ctx.db is None or not ctx.db_current:
        return out
    for guild_id, profile, model in await guilds.default_models(ctx.db):
        chosen = providers.get(profile)
        if chosen is None:
            continue
        live = chosen.capabilities.live_models
        if model not in live:
            out.append(
                fail(
                    f"server {guild_id}",
                    f"its default model {model} on {profile} is retired: a manager should pick another "
                    f"with /settings provider ({', '.join(live) or 'none left'})",
                )
            )
    for outage in await model_status.current(ctx.db, time.time() - LAPSE):
        out.append(
            fail(
                f"models {outage.profile}",
                f"the vendor said it no longer serves {outage.model} ({outage.code}); members are not "
                "offered it for a day: list it under `retired` in the providers file, or set a fallback",
            )
        )
    return out


async def check_models_online(ctx: Context) -> list[CheckResult]:
    """With ``--online``: per configured model, whether the vendor still serves it, where it can say."""
    if not ctx.online or not ctx.profiles:
        return []
    out: list[CheckResult] = []
    async with VendorHttp(retry=RetryPolicy(attempts=1)) as http:
        providers, problems = _providers(ctx.profiles, http)
        out.extend(problems)
        for name, provider in providers.items():
            ask = getattr(provider, "served_models", None)
            models = provider.capabilities.live_models
            if ask is None:
                out.append(
                    ok(
                        f"served {name}",
                        "cannot tell: this vendor offers no way to ask which models it serves",
                    )
                )
                continue
            key = ctx.profiles[name].keys[0]
            try:
                served: frozenset[str] = await ask(key)
            except (ProviderError, TransportError) as exc:
                out.append(warn(f"served {name}", f"could not ask the vendor for its models ({exc})"))
                continue
            for model in models:
                if model in served:
                    out.append(
                        ok(f"served {name}/{model}", "listed by the vendor (a call may still fail upstream)")
                    )
                else:
                    out.append(
                        fail(
                            f"served {name}/{model}",
                            "not in the vendor's model list: it is not served; list it under `retired`",
                        )
                    )
    return out
