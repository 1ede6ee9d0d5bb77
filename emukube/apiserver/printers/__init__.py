"""Kubernetes' own table printers (pkg/printers/internalversion), one module per API area.

Each printer turns one stored object into the cells of its Table row. The API server runs
them with Wide set, so priority-1 cells are always there and kubectl hides them without -o wide."""
