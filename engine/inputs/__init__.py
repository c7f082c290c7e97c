"""What a run is given: the scenario (presets and validation), a trace that replaces
the SLUB model, and the cost profiles that price the counted events."""
