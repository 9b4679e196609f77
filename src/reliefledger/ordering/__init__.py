"""Ordering services: turn submitted transactions into a chain of signed block headers."""

from reliefledger.ordering.protocol import BatchLimits, ChainPosition, Orderer

__all__ = ["BatchLimits", "ChainPosition", "Orderer"]
