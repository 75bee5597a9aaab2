"""Sweeps: one W&B sweep file, two engines (Optuna here or across machines, W&B agents)."""
