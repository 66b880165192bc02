"""The bottom of the project: the root exception and child-process helpers.

Every other package (``schemas``, ``infra``, ``streams``, ``producers``, ``consumers`` and the
``cjsx`` command on top) may import from here; this package imports none of them.
"""
