"""The interactive policy simulator (``sd app STUDY``): move a lever, see the region's future.

:mod:`sd.app.session` turns settings from the page into study scenarios and runs them on the
vectorized engine; :mod:`sd.app.server` serves the page and its JSON API on loopback.
"""
