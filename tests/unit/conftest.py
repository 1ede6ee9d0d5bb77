"""Property tests draw the same examples on every run (derandomized), so a run's result depends on
the code alone: a new failing example is found by exploring on purpose, with
EMUKUBE_HYPOTHESIS_EXPLORE=1, never by chance in CI."""

import os

from hypothesis import settings

settings.register_profile("emukube", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("EMUKUBE_HYPOTHESIS_EXPLORE") else "emukube")
