"""Protocol limits: every size, count and duration that grows with input, named with its unit.

These are protocol constants: peers that disagree on them would disagree on validity, so they are
not runtime settings. Runtime settings (batch sizes, ports) live in the node's configuration.
"""

TRANSACTION_BYTES_MAX = 64 * 1024
"""Largest accepted envelope, as encoded JSON bytes."""

ARGS_DEPTH_MAX = 8
"""Deepest nesting of lists and objects inside a transaction's arguments."""

STRING_BYTES_MAX = 4096
"""Longest string value anywhere in a transaction, in UTF-8 bytes."""

INTEGER_ABSOLUTE_MAX = 2**63 - 1
"""Largest magnitude of an integer in canonical JSON (signed 64-bit)."""

NONCE_BYTES_MAX = 64
"""Longest nonce string."""

VALIDITY_MS_MAX = 7 * 24 * 3600 * 1000
"""How far past the current block time a transaction's valid_until may lie."""

BLOCK_TRANSACTIONS_MAX = 4096
"""Most transactions in one block."""

BLOCK_BYTES_MAX = 8 * 1024 * 1024
"""Most envelope bytes in one block."""

ROLES_PER_MEMBER_MAX = 16
"""Most roles one member key may hold."""

IDENTIFIER_BYTES_MAX = 64
"""Longest identifier (organisation id, role name, proposal id)."""

PROPOSAL_LIFETIME_MS_DEFAULT = 7 * 24 * 3600 * 1000
"""How long a governance proposal stays open when the proposer names no deadline."""

PROPOSAL_LIFETIME_MS_MAX = 30 * 24 * 3600 * 1000
"""Longest a governance proposal may stay open."""

ORGANISATIONS_MAX = 1024
"""Most organisations in a network."""

HOUSEHOLD_MEMBERS_MAX = 32
"""Most members of one registered household."""

PROGRAMMES_PER_APPLICATION_MAX = 8
"""Most programmes one intake may open."""

REASONS_PER_DECISION_MAX = 16
"""Most reason codes a decision or opinion may carry."""
