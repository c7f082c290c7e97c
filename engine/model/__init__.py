"""The simulated system: the compiled kernels (SLUB, the memcg machinery, the hook
strategies), the state they run on, their events and the invariants checked after a
run.  Everything under ``jit.KERNEL_MODULES`` is compiled; nothing here does I/O."""
