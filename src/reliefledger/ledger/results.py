"""Result codes: the final status of every ordered transaction, recorded in its block.

Codes are ordered by precedence: when several apply, the executor records the lowest. Checks
that hold for any contract come first (chain, suite, signature, replay, expiry, signer), then the
contract's own. The numbers are part of the protocol: they are hashed into every block's result
root, so a code is never renumbered, only added. docs/protocol.md lists them.
"""

from enum import IntEnum


class ResultCode(IntEnum):
    """Why a transaction was committed or rejected."""

    OK = 0
    WRONG_CHAIN = 1
    WRONG_SUITE = 2
    BAD_SIGNATURE = 3
    DUPLICATE = 4
    EXPIRED = 5
    VALIDITY_TOO_LONG = 6
    UNKNOWN_SIGNER = 7
    REVOKED_SIGNER = 8
    UNKNOWN_CONTRACT = 9
    UNKNOWN_ACTION = 10
    INVALID_ARGUMENTS = 11
    NOT_AUTHORISED = 12

    ORGANISATION_EXISTS = 100
    ORGANISATION_NOT_FOUND = 101
    MEMBER_EXISTS = 102
    MEMBER_NOT_FOUND = 103
    MEMBER_ALREADY_REVOKED = 104
    PROPOSAL_EXISTS = 105
    PROPOSAL_NOT_FOUND = 106
    PROPOSAL_CLOSED = 107
    ALREADY_VOTED = 108
    FOUNDING_SET_WOULD_BE_EMPTY = 109

    HOUSEHOLD_EXISTS = 200
    HOUSEHOLD_NOT_FOUND = 201
    HOUSEHOLD_INACTIVE = 202
    PERSON_IN_ANOTHER_HOUSEHOLD = 203
    PERSON_NOT_FOUND = 204
    PERSON_DECEASED = 205

    POLICY_PACK_EXISTS = 300
    POLICY_PACK_NOT_FOUND = 301
    INVALID_POLICY_PACK = 302
    UNKNOWN_PROGRAMME = 303
    NO_STANDARD = 304

    CASE_EXISTS = 400
    CASE_NOT_FOUND = 401
    WRONG_CASE_STATE = 402
    MISSING_RECORD = 403
    NOTICE_NOT_ENDED = 404
    NOTICE_ENDED = 405
    AMOUNT_MISMATCH = 406
    MANDATORY_VISIT_MISSING = 407
    NOT_ELIGIBLE = 408
    ABOVE_FAST_PATH_CEILING = 409

    RESOURCE_EXISTS = 500
    RESOURCE_NOT_FOUND = 501
    SHARING_NOT_ALLOWED = 502
    REQUEST_EXISTS = 503
    REQUEST_NOT_FOUND = 504
    REQUEST_NOT_PENDING = 505
    FIELDS_NOT_IN_RESOURCE = 506
    ANSWER_EXISTS = 507
    ANSWER_NOT_RECORDED = 508

    ACCOUNT_EXISTS = 600
    ACCOUNT_NOT_FOUND = 601
    ACCOUNTS_MUST_DIFFER = 602
    CURRENCY_MISMATCH = 603
    TRANSFER_EXISTS = 604
    TRANSFER_EXISTS_DIFFERENT = 605
    EXCEEDS_CREDITS = 606
    EXCEEDS_DEBITS = 607
    PENDING_NOT_FOUND = 608
    PENDING_NOT_PENDING = 609
    PENDING_EXPIRED = 610
    AMOUNT_EXCEEDS_PENDING = 611
    OVERFLOW = 612
    WALLET_CLASS_NOT_FOUND = 613
    WALLET_BALANCE_CAP = 614
    WALLET_PER_PAYMENT_LIMIT = 615
    WALLET_DAILY_LIMIT = 616
    WALLET_YEARLY_LIMIT = 617
    EARMARK_CATEGORY = 618
    EARMARK_EXPIRED = 619
    BAD_HOLDER_SIGNATURE = 620
    DOUBLE_SPEND = 621
    OFFLINE_LIMIT = 622
    UNCONDITIONAL_CASH = 623
    PAYMENT_HELD = 624

    REPORT_EXISTS = 700
    REPORT_NOT_FOUND = 701
    WRONG_REPORT_STATE = 702
    NO_REPORT_ROUTE = 703

    EVENT_EXISTS = 710
    EVENT_NOT_FOUND = 711
    WRONG_EVENT_STATE = 712

    MODEL_EXISTS = 720
    MODEL_NOT_FOUND = 721
    MODEL_RETIRED = 722

    MESSAGE_EXISTS = 730

    @property
    def is_committed(self) -> bool:
        """True for the one code that means the transaction took effect."""
        return self is ResultCode.OK

    @property
    def claims_id(self) -> bool:
        """Whether this outcome becomes the transaction id's final status.

        A transaction whose chain, suite or signature is wrong proves nothing about its signer, so
        it must not claim the id: otherwise anyone could burn a pending transaction's id by
        submitting its body first with a garbage signature. A duplicate claims nothing either:
        the id keeps the status of its first execution.
        """
        return self not in (
            ResultCode.WRONG_CHAIN,
            ResultCode.WRONG_SUITE,
            ResultCode.BAD_SIGNATURE,
            ResultCode.DUPLICATE,
        )

    @property
    def label(self) -> str:
        """The lowercase name used on the wire (``ok``, ``bad_signature``...)."""
        return self.name.lower()


class Rejection(Exception):
    """Raised inside a contract to reject the transaction with a code; nothing it wrote stays."""

    def __init__(self, code: ResultCode, message: str = "") -> None:
        super().__init__(message or code.label)
        self.code = code
