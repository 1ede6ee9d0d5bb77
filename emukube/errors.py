"""Errors a user can act on. The CLI prints them as one line each and exits with their code."""


class EmukubeError(Exception):
    """A user-facing problem: usage, validation or engine. Exit code 2 unless stated."""

    exit_code = 2


class EngineUnavailable(EmukubeError):
    def __init__(self, socket: str, detail: str = ""):
        super().__init__(f"cannot reach the Docker engine at {socket}" + (f" ({detail})" if detail else ""))


class NotFound(EmukubeError):
    pass


class WorkloadFailed(EmukubeError):
    """The manifests were fine but the workload did not become ready in time."""

    exit_code = 1
