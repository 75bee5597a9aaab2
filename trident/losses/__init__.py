"""Loss components, their registry and catalog, and their weighted sum (`multi.MultiComponentLoss`).

Import from the submodules: `registry` (types and registration, safe anywhere), `catalog`
(the built-ins, plugins), `multi` (the weighted sum the trainer calls)."""
