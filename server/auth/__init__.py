"""Accounts, roles, devices and the deny-by-default access rules."""
