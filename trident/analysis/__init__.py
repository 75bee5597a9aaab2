"""Reports over finished runs and studies: the loss-scale analysis and the before/after report."""
