"""What every layer shares about Kubernetes objects: time stamps (and, next, the served kinds
and their names)."""
