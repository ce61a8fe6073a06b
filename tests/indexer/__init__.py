"""Tests of ``searchkit.indexer``, one file per module of the package."""
