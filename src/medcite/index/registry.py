"""Short names for backends, built-ins registered like third-party ones.

An unknown name lists the known ones; a missing optional dependency names what to install.
"""

from __future__ import annotations

from typing import Any, Callable

from medcite.errors import ConfigError

EmbedderFactory = Callable[[Any], Any]
_EMBEDDERS: dict[str, EmbedderFactory] = {}


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    _EMBEDDERS[name] = factory


def embedder_names() -> list[str]:
    return sorted(_EMBEDDERS)


def make_embedder(settings: Any) -> Any | None:
    """The embedder named by ``settings.embedder`` (``none`` → None: lexical search only)."""
    name = settings.embedder
    if name == "none":
        return None
    try:
        factory = _EMBEDDERS[name]
    except KeyError:
        raise ConfigError(f"unknown embedder {name!r}",
                          hint=f"known embedders: {', '.join(embedder_names() + ['none'])}") from None
    return factory(settings)


def _onnx(settings: Any) -> Any:
    from medcite.index.embedders import OnnxEmbedder

    return OnnxEmbedder(model_dir=settings.cache / "models" / "minilm-l6-v2",
                        threads=getattr(settings, "embed_threads", 0) or None)


def _openai(settings: Any) -> Any:
    from medcite.index.embedders import OpenAIEmbedder

    if not settings.embed_base_url or not settings.embed_model:
        raise ConfigError("the openai embedder needs a server",
                          hint="set MEDCITE_EMBED_BASE_URL and MEDCITE_EMBED_MODEL")
    key = settings.embed_api_key.get_secret_value() if settings.embed_api_key else None
    return OpenAIEmbedder(settings.embed_base_url, settings.embed_model, api_key=key)


def _hashing(settings: Any) -> Any:
    from medcite.index.embedders import HashingEmbedder

    return HashingEmbedder()


register_embedder("onnx-minilm", _onnx)
register_embedder("openai", _openai)
register_embedder("hashing", _hashing)
