"""Shared fixtures. Stand-ins live in their own packages beside this file."""
