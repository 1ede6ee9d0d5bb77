"""The remotecommand framing of exec and attach over WebSocket (k8s.io/apimachinery
util/remotecommand and util/httpstream/wsstream): every binary message is one channel byte then
data. v4 reports the end on the error channel as a metav1.Status; v5 adds the CLOSE message by
which a client half-closes one of its streams (stdin at EOF)."""

from __future__ import annotations

import json

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)


def frame(channel: int, data: bytes = b"") -> bytes:
    return bytes((channel,)) + data


def parse(message: bytes) -> tuple[int, bytes]:
    """(channel, data) of a client message; (-1, b"") for an empty one."""
    if not message:
        return -1, b""
    return message[0], bytes(message[1:])


def closed_channel(data: bytes) -> int | None:
    """The channel a v5 CLOSE message names (its data is that one byte)."""
    return data[0] if len(data) == 1 else None


def terminal_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a resize message: the JSON of remotecommand.TerminalSize."""
    try:
        size = json.loads(data)
        return int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return None


def success() -> bytes:
    return json.dumps({"metadata": {}, "status": "Success"}).encode()


def exit_status(code: int, command: list[str]) -> bytes:
    """The kubelet's Status for a command's end (pkg/kubelet/cri/streaming/remotecommand: a
    non-zero exit is a Failure with reason NonZeroExitCode and the code as an ExitCode cause)."""
    if code == 0:
        return success()
    return json.dumps({
        "metadata": {}, "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
                   f"[{' '.join(command)}], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }).encode()


def failure(message: str) -> bytes:
    """An error the stream ends with (the kubelet's NewInternalError)."""
    return json.dumps({"metadata": {}, "status": "Failure", "message": f"Internal error occurred: {message}",
                       "reason": "InternalError", "details": {"causes": [{"message": message}]},
                       "code": 500}).encode()
