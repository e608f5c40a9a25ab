"""Notebooks as jobs: the papermill translator and engine for the Velostream SQL kernel."""
