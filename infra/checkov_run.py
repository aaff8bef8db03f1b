"""checkov's entry point, run by checkov's own interpreter (``.venv-checkov/bin/python``), never imported
by the app or the tests: ``.venv-checkov/bin/python infra/checkov_run.py <checkov arguments>``.

One change to checkov's behaviour, none to its results: its JSONPath parser (bc_jsonpath_ng) asks PLY
to build the grammar's LR tables on every expression it parses (``write_tables=0``), hundreds of
times per template, which was ~85% of the scan (about 30 s of CPU for one city's template). Here
the tables are built once per grammar and reused: the parser's rule methods keep no state.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

# Run as a script, its directory (infra/) would come first on sys.path: infra/packaging.py is not
# the ``packaging`` checkov imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import ply.yacc  # noqa: E402

_build = ply.yacc.yacc
_parsers: dict[tuple[Any, ...], Any] = {}


def _yacc_once(*args: Any, **kwargs: Any) -> Any:
    module = kwargs.get("module")
    if args or module is None:
        return _build(*args, **kwargs)
    key = (type(module), kwargs.get("start"), bool(kwargs.get("debug")))
    if key not in _parsers:
        _parsers[key] = _build(*args, **kwargs)
    return _parsers[key]


ply.yacc.yacc = _yacc_once

if __name__ == "__main__":
    from checkov.main import Checkov

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)
        sys.exit(Checkov().run())
