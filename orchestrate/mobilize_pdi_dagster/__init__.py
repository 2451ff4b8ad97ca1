"""Dagster code location for mobilize-pdi: one sync job per organization of the Meltano project.

Each organization's sync is a plain `meltano run sync-<org>` in the project (no Dagster
integration package in between): Dagster schedules it, runs organizations in parallel, shows
its log, and records the run summary target-pdi writes as the metadata of an asset per
organization, so that the UI shows each organization's history.
"""
