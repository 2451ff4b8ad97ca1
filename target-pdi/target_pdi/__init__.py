"""target-pdi: Singer target for PDI."""
