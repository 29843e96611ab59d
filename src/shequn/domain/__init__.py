"""Plain types shared by every layer: events, actions, groups, members."""
