"""The cluster's object store (our etcd): Kubernetes objects in one SQLite file on the state
volume, with a global resourceVersion and a change log for watches. See sqlite.py."""

from emukube.store.sqlite import AlreadyExists, Change, Conflict, Gone, NotFound, Store, StoreError

__all__ = ["AlreadyExists", "Change", "Conflict", "Gone", "NotFound", "Store", "StoreError"]
