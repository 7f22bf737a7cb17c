"""The OpenAI-compatible client against a real loopback HTTP server (tests/mock_openai.py)."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from mock_openai import MockOpenAI, mock_openai  # noqa: F401  (fixture)

from medcite.errors import ConfigError, LLMError
from medcite.llm.client import (
    ChatModel,
    ChatResult,
    LLMHTTPError,
    MockChatModel,
    OpenAIChatModel,
    StreamTruncated,
    check,
    is_loopback,
    model_from_env,
    supports_json_schema,
)

KEY = "sk-test-SECRET-0123456789abcdef"
MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Does aspirin help?"}]


def make(srv: MockOpenAI, **kw) -> OpenAIChatModel:
    kw.setdefault("timeout", 0.5)
    kw.setdefault("backoff", 0.01)
    kw.setdefault("max_retries", 3)
    return OpenAIChatModel(srv.url, "mock-model", **kw)


# ------------------------------------------------------------------ success


def test_complete_success_and_request_shape(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_chat("Aspirin lowers MI risk [1].",
                           usage={"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19})
    llm = make(mock_openai, api_key=KEY)
    assert isinstance(llm, ChatModel)
    fmt = {"type": "json_object"}
    res = llm.complete(MSGS, response_format=fmt, temperature=0.2, max_tokens=64)
    assert isinstance(res, ChatResult)
    assert res.text == "Aspirin lowers MI risk [1]."
    assert res.model == "mock-model"
    assert res.usage == {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
    assert res.finish_reason == "stop"
    assert res.latency_ms > 0
    req = mock_openai.last
    assert req.method == "POST" and req.path == "/v1/chat/completions"
    assert req.authorization == f"Bearer {KEY}"
    assert req.json["messages"] == MSGS
    assert req.json["model"] == "mock-model"
    assert req.json["response_format"] == fmt
    assert req.json["temperature"] == 0.2 and req.json["max_tokens"] == 64
    assert "stream" not in req.json


def test_usage_missing_gives_zeros_and_no_auth_header_without_key(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_chat("ok", usage=None)
    res = make(mock_openai).complete(MSGS)
    assert res.usage == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert "authorization" not in mock_openai.last.headers
    assert "response_format" not in mock_openai.last.json


def test_usage_total_computed_when_missing(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_chat("ok", usage={"prompt_tokens": 3, "completion_tokens": 2})
    assert make(mock_openai).complete(MSGS).usage["total_tokens"] == 5


def test_models_and_embeddings_routes(mock_openai: MockOpenAI) -> None:
    models = httpx.get(f"{mock_openai.url}/models").json()
    assert [m["id"] for m in models["data"]] == ["mock-model"]
    mock_openai.queue_embeddings([[0.1, 0.2, 0.3]])
    data = httpx.post(f"{mock_openai.url}/embeddings", json={"model": "e", "input": ["a"]}).json()
    assert data["data"][0]["embedding"] == [0.1, 0.2, 0.3]
    default = httpx.post(f"{mock_openai.url}/embeddings", json={"model": "e", "input": ["a", "b"]}).json()
    assert len(default["data"]) == 2 and len(default["data"][0]["embedding"]) == 8


# ------------------------------------------------------------------ retries


def test_retries_on_429_and_500_then_success(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_error(429, "slow down", retry_after=0).queue_error(500).queue_error(503)
    mock_openai.queue_chat("finally")
    llm = make(mock_openai)
    sleeps: list[float] = []
    llm._sleep = lambda s: sleeps.append(s)
    assert llm.complete(MSGS).text == "finally"
    assert len(mock_openai.chat_requests()) == 4
    assert len(sleeps) == 3 and sleeps[0] < sleeps[1] < sleeps[2]  # exponential backoff


def test_retry_after_is_honoured(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_error(429, retry_after=0.3).queue_chat("ok")
    llm = make(mock_openai, backoff=0.001)
    t0 = time.perf_counter()
    assert llm.complete(MSGS).text == "ok"
    assert time.perf_counter() - t0 >= 0.28


def test_gives_up_after_max_retries_with_clear_error(mock_openai: MockOpenAI) -> None:
    for _ in range(3):
        mock_openai.queue_error(500, "model crashed")
    llm = make(mock_openai, max_retries=2, api_key=KEY)
    llm._sleep = lambda s: None
    with pytest.raises(LLMHTTPError) as info:
        llm.complete(MSGS)
    err = info.value
    assert err.status == 500
    text = str(err)
    assert "HTTP 500" in text and "model crashed" in text and "3 attempts" in text
    assert mock_openai.url in text and "MEDCITE_LLM_BASE_URL" in text
    assert KEY not in text and KEY not in repr(err)
    assert len(mock_openai.chat_requests()) == 3


def test_no_retry_on_400_and_hint_for_404(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_error(400, "bad model option").queue_error(404, "model 'x' not found")
    llm = make(mock_openai)
    with pytest.raises(LLMHTTPError) as info:
        llm.complete(MSGS)
    assert info.value.status == 400 and len(mock_openai.chat_requests()) == 1
    with pytest.raises(LLMHTTPError) as info:
        llm.complete(MSGS)
    assert "MEDCITE_LLM_MODEL" in str(info.value) and "/v1" in str(info.value)


def test_timeout_retries_then_fails(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_chat("too late", delay=1.5).queue_chat("too late", delay=1.5)
    llm = make(mock_openai, timeout=0.3, max_retries=1)
    t0 = time.perf_counter()
    with pytest.raises(LLMError) as info:
        llm.complete(MSGS)
    assert time.perf_counter() - t0 < 1.4
    assert "timed out" in str(info.value) and "2 attempts" in str(info.value)


def test_timeout_then_success(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_chat("too late", delay=1.0).queue_chat("in time")
    llm = make(mock_openai, timeout=0.3, max_retries=1)
    assert llm.complete(MSGS).text == "in time"


def test_connection_refused_is_clear() -> None:
    with MockOpenAI() as srv:
        url = srv.url
    llm = OpenAIChatModel(url, "m", api_key=KEY, timeout=0.3, max_retries=1, backoff=0.01)
    with pytest.raises(LLMError) as info:
        llm.complete(MSGS)
    assert "could not be reached" in str(info.value) and KEY not in str(info.value)


# ------------------------------------------------------------------ malformed


def test_non_json_response(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_raw("<html>502 gateway</html>")
    with pytest.raises(LLMError, match="not JSON"):
        make(mock_openai).complete(MSGS)


def test_truncated_json_body(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_raw('{"choices": [{"message": {"content": "hal', content_type="application/json")
    with pytest.raises(LLMError, match="not JSON"):
        make(mock_openai).complete(MSGS)


def test_json_without_choices(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_json({"object": "list", "data": []})
    with pytest.raises(LLMError, match="without choices"):
        make(mock_openai).complete(MSGS)


# ------------------------------------------------------------------ streaming


def test_stream_success_with_usage(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_stream(["Aspirin ", "helps ", "[1]."],
                             usage={"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})
    llm = make(mock_openai, api_key=KEY)
    stream = llm.stream(MSGS, max_tokens=10)
    assert list(stream) == ["Aspirin ", "helps ", "[1]."]
    assert stream.result.text == "Aspirin helps [1]."
    assert stream.result.usage["total_tokens"] == 8
    assert stream.result.finish_reason == "stop"
    req = mock_openai.last.json
    assert req["stream"] is True and req["stream_options"] == {"include_usage": True}


def test_stream_truncated_mid_chunk_keeps_partial(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_stream(["Metformin ", "should "], truncate=True)
    stream = make(mock_openai).stream(MSGS)
    got: list[str] = []
    with pytest.raises(StreamTruncated) as info:
        for piece in stream:
            got.append(piece)
    assert "stream truncated" in str(info.value)
    assert info.value.partial == "Metformin should " == "".join(got)
    assert isinstance(info.value, LLMError)
    assert stream.result is None


def test_stream_without_done_is_truncated(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_stream(["half an ans"], done=False)
    with pytest.raises(StreamTruncated) as info:
        list(make(mock_openai).stream(MSGS))
    assert info.value.partial == "half an ans"


def test_stream_retries_before_first_byte(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_error(503).queue_stream(["ok"])
    stream = make(mock_openai).stream(MSGS)
    assert "".join(stream) == "ok"


# ------------------------------------------------------------------ secrets


def test_key_never_in_messages_repr_or_logs(mock_openai: MockOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    llm = make(mock_openai, api_key=KEY, max_retries=1)
    llm._sleep = lambda s: None
    assert KEY not in repr(llm) and KEY not in str(llm) and "***" in repr(llm)
    # a server that echoes the key back in its error body
    mock_openai.queue_error(401, f"Incorrect API key provided: {KEY}")
    with pytest.raises(LLMHTTPError) as info:
        llm.complete(MSGS)
    assert KEY not in str(info.value) and KEY not in info.value.body and "***" in str(info.value)
    assert "MEDCITE_LLM_API_KEY" in str(info.value)
    mock_openai.queue_error(500, f"boom {KEY}").queue_error(500, f"boom {KEY}")
    with pytest.raises(LLMError) as info:
        llm.complete(MSGS)
    assert KEY not in str(info.value)
    report = check(llm)  # empty queue → "OK" reply; probe then fails to parse → False
    assert KEY not in str(report)
    assert KEY not in caplog.text


# ------------------------------------------------------------------ probes


def test_json_schema_probe_true(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_chat('{"ok": true, "word": "yes"}')
    assert supports_json_schema(make(mock_openai)) is True
    fmt = mock_openai.last.json["response_format"]
    assert fmt["type"] == "json_schema" and "schema" in fmt["json_schema"]


def test_json_schema_probe_false_on_400(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_error(400, "response_format type json_schema is not supported")
    assert supports_json_schema(make(mock_openai)) is False


def test_json_schema_probe_false_on_prose(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_chat("Sure! Here is the JSON you asked for: ok=true")
    assert supports_json_schema(make(mock_openai)) is False


def test_json_schema_probe_raises_on_other_errors(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_error(401, "bad key")
    with pytest.raises(LLMError):
        supports_json_schema(make(mock_openai))


def test_check_report(mock_openai: MockOpenAI) -> None:
    mock_openai.queue_chat("OK").queue_chat('{"ok": true, "word": "yes"}')
    report = check(make(mock_openai))
    assert report["ok"] is True and report["json_schema"] is True and report["error"] is None
    assert report["base_url"] == mock_openai.url and report["model"] == "mock-model"
    assert report["latency_ms"] > 0
    mock_openai.queue_error(404, "no such model")
    bad = check(make(mock_openai))
    assert bad["ok"] is False and "HTTP 404" in bad["error"]


# ------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://127.8.9.1/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://LOCALHOST/v1", True),
        ("http://[::1]:8080/v1", True),
        ("http://[::ffff:127.0.0.1]:8080/v1", True),
        ("127.0.0.1:8000/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        ("http://192.168.1.2/v1", False),
        ("http://localhost.evil.com/v1", False),
        ("http://127.0.0.1.nip.io/v1", False),
        ("http://[2001:db8::1]/v1", False),
        ("", False),
    ],
)
def test_is_loopback(url: str, expected: bool) -> None:
    assert is_loopback(url) is expected


def test_model_from_env() -> None:
    assert model_from_env({}) is None
    m = model_from_env({"OPENAI_BASE_URL": "https://api.openai.com/v1/", "OPENAI_API_KEY": KEY,
                        "MEDCITE_LLM_MODEL": "gpt-x"})
    assert m.base_url == "https://api.openai.com/v1" and m.model == "gpt-x" and m._api_key == KEY
    m2 = model_from_env({"MEDCITE_LLM_BASE_URL": "http://127.0.0.1:8000/v1", "OPENAI_BASE_URL": "https://x/v1",
                         "MEDCITE_LLM_MODEL": "m", "MEDCITE_LLM_API_KEY": "a", "OPENAI_API_KEY": "b"})
    assert m2.base_url == "http://127.0.0.1:8000/v1" and m2._api_key == "a"
    with pytest.raises(ConfigError):
        model_from_env({"MEDCITE_LLM_BASE_URL": "http://127.0.0.1:8000/v1"})
    with pytest.raises(ConfigError):
        model_from_env({"MEDCITE_LLM_MODEL": "m"})


def test_mock_chat_model() -> None:
    mock = MockChatModel()
    assert isinstance(mock, ChatModel)
    mock.enqueue("first [1].", LLMError("scripted failure"), "streamed answer")
    assert mock.complete(MSGS).text == "first [1]."
    with pytest.raises(LLMError, match="scripted"):
        mock.complete(MSGS)
    stream = mock.stream(MSGS, response_format={"type": "json_object"})
    assert "".join(stream) == "streamed answer" and stream.result.text == "streamed answer"
    assert mock.requests[-1]["response_format"] == {"type": "json_object"} and mock.requests[-1]["stream"]
    with pytest.raises(LLMError, match="no queued"):
        mock.complete(MSGS)
    assert MockChatModel(default="x").complete(MSGS).text == "x"
