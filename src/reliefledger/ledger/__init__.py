"""The pure ledger core: encoding, crypto suites, Merkle trees, transactions, blocks, execution.

Nothing in this package reads a clock, draws randomness, touches a network or a disk: every input
arrives as an argument, so that every peer that executes the same blocks reaches the same state.
A test (tests/test_layers.py) enforces this.
"""
