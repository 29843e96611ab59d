"""Points mall (积分商城): items with stock and a price in points, redemption codes, write-off, refunds."""
