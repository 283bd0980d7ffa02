"""Unit tests of the operate package (the status command)."""
