"""``/credits balance``'s answer: the credits, then every limit that decides the member's next video.

A refusal by a cap ("this server allows 100 a day") should never be the first a member hears of it,
so the balance names them all beside it: videos in progress against the member's and the server's
caps, what is left to spend today and when that resets, when the next allowance lands, and the price
above which a video asks first. Times are Discord timestamps, which count down by themselves.
"""

from __future__ import annotations

from bot.engine.credits import Balance
from bot.engine.member_limits import MemberLimits
from bot.i18n import t


def limit_lines(limits: MemberLimits, locale: object = None) -> list[str]:
    """One line a limit that applies; the confirm threshold always (it applies unless turned off)."""
    lines: list[str] = []
    if limits.mine_in_progress is not None:
        cap = limits.mine_in_progress
        lines.append(t("balance.in_progress_member", locale, used=cap.used, limit=cap.limit))
    if limits.server_in_progress is not None:
        cap = limits.server_in_progress
        lines.append(t("balance.in_progress_server", locale, used=cap.used, limit=cap.limit))
    if limits.spent_today is not None:
        cap = limits.spent_today
        at = int(limits.day_resets_at)
        lines.append(t("balance.daily", locale, used=cap.used, limit=cap.limit, left=cap.left, at=at))
    if limits.allowance is not None and limits.allowance_period and limits.allowance_next_at is not None:
        period = t(f"period.{limits.allowance_period}", locale)
        at = int(limits.allowance_next_at)
        lines.append(t("balance.allowance", locale, amount=limits.allowance, period=period, at=at))
    if limits.confirm_above:
        lines.append(t("balance.confirm", locale, cost=limits.confirm_above))
    else:
        lines.append(t("balance.confirm_off", locale))
    return lines


def balance_text(bal: Balance, *, mention: str | None, locale: object = None) -> str:
    """The member's own balance (``mention`` None) or another's, then the limits that apply."""
    held = t("credits.held", locale, held=bal.held) if bal.held else ""
    if mention is None:
        head = t("credits.balance_self", locale, available=bal.available, held=held)
    else:
        head = t("credits.balance_other", locale, member=mention, available=bal.available, held=held)
    lines = "\n".join(f"• {line}" for line in limit_lines(bal.limits, locale))
    return f"{head}\n**{t('balance.limits', locale)}**\n{lines}"
