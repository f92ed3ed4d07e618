"""The vectorized engine: one generated numpy step function runs N parameter sets at once.

:mod:`~sd.engine.vectorized.core` builds it from PySD's abstract model,
:mod:`~sd.engine.vectorized.codegen` writes the source, :mod:`~sd.engine.vectorized.assembly`
puts the step together, :mod:`~sd.engine.vectorized.rk` integrates with RK2/RK4 and
:mod:`~sd.engine.vectorized.subscripts` handles subscripted arrays.
"""
