"""Lotteries (抽奖) and red packets (拼手气红包): seeded, committed in advance, re-verifiable by anyone."""
