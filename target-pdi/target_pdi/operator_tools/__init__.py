"""The operator's tools: status, the run's summary and verdict, the dead letters waiting,
retargeting the id map, reconcile.
"""
