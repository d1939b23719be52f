"""Chapter-specific orchestration, kept out of the engine.

Each module turns one chapter's ``parameters`` cell into engine configurations, runs its
grids (resumably, with a command line for the long presets), checks its claims and
assembles its figures. The engine (:mod:`dof_helpers.engine`) knows nothing about chapters.

- :mod:`~.common` -- the parameters cell and presets, data subsets, settings files;
- :mod:`~.phase_transition`, :mod:`~.phase_claims`, :mod:`~.phase_figures` -- chapter 05;
- :mod:`~.lottery`, :mod:`~.lottery_figures` -- chapter 06.
"""
