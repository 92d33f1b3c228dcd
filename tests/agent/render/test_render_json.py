import io
import json

from agent.render import make_renderer
from skills.events import parse_event


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_one_event_per_line_round_trips(success, validation_rollback, dry_run) -> None:
    for events in (success, validation_rollback, dry_run):
        stream = CountingStream()
        renderer = make_renderer("json", stream)
        for event in events:
            renderer(event)
        renderer.close()
        lines = stream.getvalue().splitlines()
        assert len(lines) == len(events)
        assert stream.flushes >= len(events)
        for line, event in zip(lines, events, strict=True):
            assert isinstance(json.loads(line), dict)
            assert parse_event(line) == event


def test_json_ignores_what_is_not_an_event() -> None:
    stream = io.StringIO()
    renderer = make_renderer("json", stream)
    renderer(object())  # type: ignore[arg-type]
    renderer.close()
    assert stream.getvalue() == ""
