"""Clients of a cluster's Kubernetes API (the CLI, the Python API and the controller use them)."""
