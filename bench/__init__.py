"""Peerbrowser's benchmark suite: PeerSocket against its floors and baselines (see docs/PERFORMANCE.md)."""
