"""The city's shops that take digital-currency wallets, with one known bad actor among them.

A seeded list of merchants (names from Faker's zh_CN locale, a category, a township) and the
injected case the fraud checks need as ground truth: a merchant **cashing out wallets** (套现),
where holders "buy" nearly their whole balance in round sums and get cash back under the counter.
``draw_purchase`` says what one holder spends where, so the pattern lands on the ledger through
ordinary retail payments and nowhere else.
"""

import random
from dataclasses import dataclass

from faker import Faker

CATEGORIES = ("food", "medicine", "daily_goods")
MERCHANTS_PER_HOUSEHOLDS = 500
"""One merchant for every 500 households, at least four."""
CASH_OUT_SHARE_PERCENT = 5
"""Share of wallet holders who cash out at the bad merchant."""


@dataclass(frozen=True)
class Merchant:
    """A shop with a merchant account at the operator bank."""

    account_id: str
    name: str
    category: str
    township: str
    cashing_out: bool = False
    """The injected case: this merchant turns wallet balances into cash."""


def generate_merchants(seed: int, households: int, townships: tuple[str, ...]) -> tuple[Merchant, ...]:
    """The city's merchants, deterministic for ``seed``; exactly one of them cashes out wallets."""
    rng = random.Random(seed)
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    count = max(4, households // MERCHANTS_PER_HOUSEHOLDS)
    bad = rng.randrange(count)
    return tuple(Merchant(account_id=f"m{number:04d}", name=faker.company(), category=CATEGORIES[number % len(CATEGORIES)],
                          township=rng.choice(townships), cashing_out=number == bad) for number in range(count))


def draw_purchase(rng: random.Random, merchants: tuple[Merchant, ...], balance_fen: int) -> tuple[Merchant, int] | None:
    """Where one wallet holder spends and how much (None when the balance is too small to shop).

    Most buy groceries or medicine for 10 to 300 yuan at an honest shop; one in twenty cashes out:
    a round hundred yuan, nearly the whole balance, at the bad merchant.
    """
    if balance_fen < 2_000:
        return None
    bad = [merchant for merchant in merchants if merchant.cashing_out]
    if bad and balance_fen >= 20_000 and rng.randrange(100) < CASH_OUT_SHARE_PERCENT:
        return bad[0], balance_fen * 9 // 10 // 10_000 * 10_000
    honest = [merchant for merchant in merchants if not merchant.cashing_out]
    return rng.choice(honest), rng.randint(1_000, min(balance_fen, 30_000))
