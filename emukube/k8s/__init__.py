"""What every layer shares about Kubernetes: the served kinds (resources.py) and kubectl's names
for them (names.py), a REST client of the API (client.py), and RFC 3339 times (times.py)."""
