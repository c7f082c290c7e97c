"""Running the model: one simulation (``simulate``), sweeps over a grid (locally or on a
Dask cluster) and the engine's own benchmark."""
