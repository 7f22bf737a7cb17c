"""medcite — an offline-first clinical evidence engine.

Ingest a medical corpus you own, search it, and answer clinical questions with
verified, sentence-level citations.
"""

import os as _os

__version__ = "0.1.0"

# Nothing phones home: ONNX Runtime's official Linux/macOS builds send usage telemetry and keep a device id under
# ~/.cache/Microsoft unless this is set before the runtime first loads. Set here, so that it holds for every
# module of medcite that loads onnxruntime (see medcite.index.embedders.onnxruntime).
_os.environ["ORT_DISABLE_TELEMETRY"] = "1"
