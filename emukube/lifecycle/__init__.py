"""A cluster's life on this host: up (checks, certificates, network, controller), apply, wait,
delete and down. The host side: everything after `up` goes through the cluster's API."""
