"""The Kubernetes API of a cluster: served from its controller container over HTTPS."""
