"""Referral / fission (裂变): invite codes, attribution from join events, vesting invite points, the
attribution tree and the invite leaderboard. The engine module is ``shequn.modules.referral``."""
