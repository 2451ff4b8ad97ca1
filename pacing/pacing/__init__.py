"""pacing: the request pacing tap-mobilize and target-pdi share (rate, health, retries).

Import each name from its module: clock, concurrency, health, rate, retries, retry_after.
"""
