"""Domain events: what happened, recorded in the same transaction as the change itself."""
