"""Serve the example flow ``examples/dags/prefect_ingest_train.py`` as a deployment.

``python serve_example.py <deployment name>``: the flow ``dataver-ingest-train`` (with its
``dataver_flow_hooks()``, given no registry) served as ``dataver-ingest-train/<name>`` by a
runner, as a user would serve it; the Prefect API is ``PREFECT_API_URL``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "dags" / "prefect_ingest_train.py"

if __name__ == "__main__":
    spec = importlib.util.spec_from_file_location("prefect_ingest_train", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # NOTE: the deployment's entrypoint names the file
    spec.loader.exec_module(module)
    module.ingest_train.serve(name=sys.argv[1], limit=1)
