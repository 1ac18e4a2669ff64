"""Accounts: API tokens for scripts (browser users log in with a session)."""
