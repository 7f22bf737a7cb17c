"""Write bytecode (.pyc) for the modules medcite imports, and only for those; `make setup` runs it.

`make setup` installs with ``pip --no-compile``: by default pip byte-compiles every module of every package,
~70 MB of .pyc for code medcite never loads (onnxruntime's transformer tools, onnx's reference evaluator,
numpy's tests, pip itself …). Python would write the rest on first import, but not where
``PYTHONDONTWRITEBYTECODE`` is set (many container images set it), and then every start would compile
~0.9 s of source again. So this imports every medcite module and the modules medcite loads lazily, and
compiles exactly what that loaded.

    .venv/bin/python tools/compile_bytecode.py
"""

from __future__ import annotations

import importlib
import pkgutil
import py_compile
import sys

#: what medcite imports inside functions (a command, the web app's startup, the embedder, the vocabularies …);
#: not onnx and its quantizer: they run once, to prepare the embedding model, and load slowly (seconds)
LAZY = (
    "onnxruntime", "tokenizers",
    "usearch.index", "tantivy", "wordfreq", "uvicorn", "uvicorn.main", "uvicorn.config", "uvicorn.server",
    "uvicorn.lifespan.on", "uvicorn.loops.auto", "uvicorn.loops.asyncio", "uvicorn.protocols.http.auto",
    "uvicorn.protocols.http.h11_impl", "uvicorn.protocols.websockets.auto", "uvicorn.middleware.proxy_headers",
    "multipart", "python_multipart", "jinja2", "argon2", "httpx", "platformdirs", "lxml.etree", "lxml.html",
    "rich.markdown", "rich.panel", "rich.progress", "rich.table", "rich.traceback", "typer.rich_utils",
)


def main() -> int:
    import medcite

    for info in pkgutil.walk_packages(medcite.__path__, "medcite."):
        if info.name.endswith("__main__"):
            continue  # `python -m medcite`: importing it runs the command line
        try:
            importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 - an optional extra that is not installed: nothing to compile
            pass
    for name in LAZY:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001
            pass
    done = 0
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path or not path.endswith(".py"):
            continue
        try:
            py_compile.compile(path, doraise=True)
            done += 1
        except (py_compile.PyCompileError, OSError):
            pass
    print(f"bytecode written for {done} modules medcite imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
