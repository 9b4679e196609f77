"""The peer: submission, the commit loop, queries, the chain directory and the HTTP API."""
