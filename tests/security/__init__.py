"""Security tests: hostile configs and checkpoints are refused before anything runs."""
