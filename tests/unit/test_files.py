"""runtime/files.py: whole-file replacement, also by several threads at once."""

import threading

from emukube.runtime.files import replace_file


def test_writers_of_the_same_file_at_once_never_fail_and_leave_one_whole_file(tmp_path):
    path = tmp_path / "token"
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for _ in range(200):
                replace_file(path, f"token-{i}" * 100, 0o644)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert path.read_text() in {f"token-{i}" * 100 for i in range(4)}
    assert [p.name for p in tmp_path.iterdir()] == ["token"]  # no temporary file left
