"""State keys of the money ledger (shared by its modules)."""


def get_account_key(account_id: str) -> str:
    """State key of an account."""
    return f"money/account/{account_id}"


def get_transfer_key(transfer_id: str) -> str:
    """State key of a transfer."""
    return f"money/transfer/{transfer_id}"


def get_holder_key(holder: str, account_id: str) -> str:
    """State key listing an account under its holder (a person's or household's pseudonym)."""
    return f"money/holder/{holder}/{account_id}"


def get_totals_key(currency: str) -> str:
    """State key of a currency's running totals."""
    return f"money/totals/{currency}"
