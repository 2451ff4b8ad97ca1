"""Local simulators of the Mobilize and PDI APIs, for tests, the demo and benchmarks."""
