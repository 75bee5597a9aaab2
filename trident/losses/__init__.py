"""Loss components, their registry and catalog, and their weighted sum (`multi.MultiComponentLoss`).

Import from the submodules: `registry` (types and registration, safe anywhere), `catalog`
(the built-ins, plugins), `multi` (the weighted sum the trainer calls)."""

# The built-in components and rewards register when any part of the package is imported, so
# `registry.COMPONENTS` / `registry.REWARDS` are complete whoever imports them first.
from trident.losses import catalog  # noqa: E402,F401
