"""Numbers read from the event store: stats now; metrics, cohorts, scores and reports later."""
