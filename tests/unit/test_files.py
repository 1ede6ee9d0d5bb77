"""runtime/files.py: whole-file replacement, also by several threads at once."""

from at_once import at_once

from emukube.runtime.files import replace_file


def test_writers_of_the_same_file_at_once_never_fail_and_leave_one_whole_file(tmp_path):
    path = tmp_path / "token"

    def write(i: int) -> None:
        for _ in range(200):
            replace_file(path, f"token-{i}" * 100, 0o644)

    assert at_once(write, 4) == []
    assert path.read_text() in {f"token-{i}" * 100 for i in range(4)}
    assert [p.name for p in tmp_path.iterdir()] == ["token"]  # no temporary file left
