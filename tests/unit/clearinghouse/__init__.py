"""Unit tests of the clearinghouse domain."""
