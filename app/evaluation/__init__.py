"""Running the SLA engine on the store: load in bulk, evaluate in pure Python, write in bulk."""
