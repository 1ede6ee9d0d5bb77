"""Leader election with the Python `kubernetes` client's leaderelection and a coordination.k8s.io/v1
Lease: every replica runs this, one leads (and says so), the others wait for the Lease to lapse."""

import logging
import os
import time

from kubernetes import config
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

logging.basicConfig(level=logging.INFO)
me = os.environ["POD_NAME"]
config.load_incluster_config()


def lead():
    print(f"{me} is leading", flush=True)
    while True:
        time.sleep(1)


lock = LeaseLock(os.environ.get("LEASE_NAME", "demo-leader"), os.environ["POD_NAMESPACE"], me)
election = electionconfig.Config(lock, lease_duration=10, renew_deadline=6, retry_period=2,
                                 onstarted_leading=lead, onstopped_leading=lambda: print(f"{me} stopped leading"))
print(f"{me} is a candidate", flush=True)
while True:  # a leader that lost its Lease stands again, as client-go's RunOrDie callers do
    leaderelection.LeaderElection(election).run()
