"""Group rules (群规): conditions, actions, the escalation ladder and the module that runs them."""

from shequn.modules.rules.module import RulesConfig, RulesModule

__all__ = ["RulesConfig", "RulesModule"]
