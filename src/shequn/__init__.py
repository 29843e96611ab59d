"""Shequn (社群): a self-hosted community-operations platform."""

__version__ = "0.1.0"
