"""The SLA engine: a functional core (rules + records + calendar + now -> states and events).

Nothing in this package does I/O or reads the clock.
"""
