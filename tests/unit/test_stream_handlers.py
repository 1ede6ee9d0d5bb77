"""The API server's streaming subresources are imported on first use (apiserver/streams):
the table naming their modules is what the modules serve."""

import importlib

from emukube.apiserver import streams


def test_served_table_matches_the_modules_handlers():
    found = {}
    for module in set(streams.SERVED.values()):
        for key in importlib.import_module(f"emukube.apiserver.streams.{module}").HANDLERS:
            found[key] = module
    assert found == streams.SERVED
    assert set(streams.handlers()) == set(streams.SERVED)
