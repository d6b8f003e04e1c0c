"""Peerbrowser's Qt side: the window, tabs, profile, page scripts and the entry point."""

#: The one place the version is written (setup.cfg reads it from here).
__version__ = "0.1.0"
