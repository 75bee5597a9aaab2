"""`trident data corpus build`: a pinned list of repositories → one de-duplicated, licensed corpus."""
