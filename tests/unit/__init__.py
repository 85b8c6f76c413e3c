"""Unit tests of pure modules."""
