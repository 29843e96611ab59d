"""Entry gates (入群门槛): captcha, invite codes, paid entry, self-introduction, tiered groups."""

from shequn.modules.gates.config import GatesConfig
from shequn.modules.gates.module import GatesModule

__all__ = ["GatesConfig", "GatesModule"]
