"""Pure parts of pods/log, exec and attach: the remotecommand channels, the engine's multiplexed
stream, PodLogOptions as the engine's logs query, the container choice's messages."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emukube.apiserver import errors
from emukube.apiserver.streams import channels as ch
from emukube.apiserver.streams.logquery import engine_params, rfc3339, run_window, saved_log
from emukube.apiserver.streams.target import choose_container
from emukube.runtime.engine_stream import Demux


# ---- channels -----------------------------------------------------------------------------------
def test_frames_carry_the_channel_byte_first():
    assert ch.frame(ch.STDOUT, b"hi") == b"\x01hi"
    assert ch.frame(ch.ERROR) == b"\x03"
    assert ch.parse(b"\x00abc") == (ch.STDIN, b"abc")
    assert ch.parse(b"") == (-1, b"")
    assert ch.parse(bytes([255, 0])) == (ch.CLOSE, b"\x00")
    assert ch.closed_channel(b"\x00") == ch.STDIN
    assert ch.closed_channel(b"") is None and ch.closed_channel(b"\x00\x01") is None


def test_terminal_size_is_remotecommand_json():
    assert ch.terminal_size(b'{"Width":100,"Height":40}') == (100, 40)
    assert ch.terminal_size(b"{}") is None and ch.terminal_size(b"garbage") is None


def test_exit_status_is_what_client_go_decodes():
    assert json.loads(ch.exit_status(0, ["true"])) == {"metadata": {}, "status": "Success"}
    status = json.loads(ch.exit_status(3, ["sh", "-c", "exit 3"]))
    assert status["status"] == "Failure" and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert status["message"] == ("command terminated with non-zero exit code: error executing command "
                                 "[sh -c exit 3], exit code 3")
    failure = json.loads(ch.failure("boom"))
    assert failure["reason"] == "InternalError" and failure["message"] == "Internal error occurred: boom"


# ---- the engine's multiplexed stream ----------------------------------------------------------
def mux(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", kind, len(payload)) + payload


@given(st.lists(st.tuples(st.sampled_from([1, 2]), st.binary(max_size=50)), max_size=8), st.integers(1, 20))
def test_demux_whatever_the_chunking(frames, size):
    data = b"".join(mux(k, p) for k, p in frames)
    demux = Demux()
    out = []
    for i in range(0, len(data), size):
        out += demux.feed(data[i:i + size])
    assert out == frames and not demux.buf


# ---- PodLogOptions -> the engine's logs query ---------------------------------------------------
def test_rfc3339_keeps_the_fraction():
    assert rfc3339("1970-01-01T00:00:01.5Z") == 1.5
    assert rfc3339("1970-01-01T00:00:10.123456789Z") == pytest.approx(10.123456789)
    assert rfc3339("0001-01-01T00:00:00Z") == 0.0 and rfc3339("") == 0.0 and rfc3339("junk") == 0.0


def test_run_window_of_a_restarted_container():
    running = {"Running": True, "StartedAt": "1970-01-01T00:01:40Z", "FinishedAt": "1970-01-01T00:01:30Z"}
    assert run_window(running, 0, False) == (0.0, 0.0)  # never restarted: its whole log
    assert run_window(running, 1, False) == (95.0, 0.0)
    assert run_window(running, 1, True) == (0.0, 95.0)
    stopped = {"Running": False, "StartedAt": "1970-01-01T00:01:40Z", "FinishedAt": "1970-01-01T00:01:50Z"}
    assert run_window(stopped, 2, True) == run_window(stopped, 2, False) == (99.5, 0.0)


def test_engine_params():
    query = {"follow": "true", "timestamps": "true", "tailLines": "10", "sinceSeconds": "60"}
    assert engine_params(query, {}, 0, 1000.0) == {"stdout": 1, "stderr": 1, "follow": 1, "timestamps": 1,
                                                   "tail": 10, "since": "940.000000000"}
    assert engine_params({"sinceTime": "1970-01-01T00:00:05Z"}, {}, 0, 1000.0)["since"] == "5.000000000"
    previous = engine_params({"previous": "true", "follow": "true"},
                             {"Running": True, "StartedAt": "1970-01-01T00:00:20Z",
                              "FinishedAt": "1970-01-01T00:00:10Z"}, 1, 1000.0)
    assert previous["until"] == "15.000000000" and previous["follow"] == 0  # a past run does not grow


@pytest.mark.parametrize("query, message", [
    ({"tailLines": "-1"}, 'PodLogOptions "p" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'),
    ({"limitBytes": "0"}, 'PodLogOptions "p" is invalid: limitBytes: Invalid value: 0: must be greater than 0'),
    ({"sinceSeconds": "x"}, 'strconv.ParseInt: parsing "x": invalid syntax'),
])
def test_bad_log_options(query, message):
    with pytest.raises(errors.ApiError) as caught:
        engine_params(query, {}, 0, 0.0, "p")
    assert caught.value.status()["message"] == message


def test_saved_log_is_cut_like_the_engines():
    data = b"1970-01-01T00:00:01.000000000Z one\n1970-01-01T00:00:02.000000000Z two\n" \
           b"1970-01-01T00:00:03.000000000Z three\n"
    assert saved_log(data, {}) == b"one\ntwo\nthree\n"
    assert saved_log(data, {"tail": 2}) == b"two\nthree\n"
    assert saved_log(data, {"tail": 0}) == b""
    assert saved_log(data, {"since": "2.0", "timestamps": 1}) == b"1970-01-01T00:00:02.000000000Z two\n" \
                                                                 b"1970-01-01T00:00:03.000000000Z three\n"


# ---- which container ----------------------------------------------------------------------------
POD = {"metadata": {"name": "web"}, "spec": {"initContainers": [{"name": "setup"}],
                                             "containers": [{"name": "app"}, {"name": "side"}]}}


def test_choose_container_as_the_api_server_does():
    assert choose_container(POD, "side") == "side" and choose_container(POD, "setup") == "setup"
    with pytest.raises(errors.ApiError) as caught:
        choose_container(POD, "nope")
    assert caught.value.status()["message"] == "container nope is not valid for pod web"
    with pytest.raises(errors.ApiError) as caught:
        choose_container(POD, "")
    assert caught.value.status()["message"] == ("a container name must be specified for pod web, "
                                                "choose one of: [setup app side]")
    single = {"metadata": {"name": "one"}, "spec": {"containers": [{"name": "only"}]}}
    assert choose_container(single, "") == "only"
