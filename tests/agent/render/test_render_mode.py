import io

import pytest

from agent.render import choose_mode, make_renderer
from agent.render.jsonl import JsonLinesRenderer
from agent.render.plain import PlainRenderer
from agent.render.rich_view import RichRenderer


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Closed(io.StringIO):
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


def test_json_when_asked_whatever_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert choose_mode("json", Tty()) == "json"
    assert choose_mode("json", io.StringIO()) == "json"


def test_rich_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert choose_mode(None, Tty()) == "rich"
    assert choose_mode("rich", Tty()) == "rich"
    assert choose_mode(None, io.StringIO()) == "plain"
    assert choose_mode("rich", io.StringIO()) == "plain"
    assert choose_mode(None, Closed()) == "plain"
    assert choose_mode("plain", Tty()) == "plain"


def test_no_color_means_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert choose_mode(None, Tty()) == "plain"
    monkeypatch.setenv("NO_COLOR", "")  # set but empty: ignored, as the convention says
    assert choose_mode(None, Tty()) == "rich"


def test_unknown_output_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="rich, plain or json"):
        choose_mode("yaml", io.StringIO())
    with pytest.raises(ValueError, match="rich, plain or json"):
        make_renderer("yaml", io.StringIO())


def test_make_renderer_by_mode() -> None:
    assert isinstance(make_renderer("json", io.StringIO()), JsonLinesRenderer)
    assert isinstance(make_renderer("plain", io.StringIO()), PlainRenderer)
    assert isinstance(make_renderer("rich", io.StringIO()), RichRenderer)
