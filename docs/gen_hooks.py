"""Write docs/hooks.md from the hookspec docstrings in botoware/hooks/specs.py.

Run ``python docs/gen_hooks.py`` after changing a hookspec; a test fails while the page is stale.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from botoware.hooks import specs
from botoware.host import _LIFECYCLE_ORDER

PAGE = Path(__file__).with_name("hooks.md")


def render() -> str:
    lines = [
        "# Hook reference",
        "",
        "Generated from `botoware/hooks/specs.py` by `docs/gen_hooks.py`; do not edit by hand.",
        "",
        inspect.cleandoc(specs.__doc__ or ""),
        "",
        "| hook | runs | kind |",
        "|---|---|---|",
    ]
    for name in _LIFECYCLE_ORDER:
        function = getattr(specs, name)
        opts = getattr(function, "botoware_spec", {}) or {}
        kind = "decision (first non-None result wins)" if opts.get("firstresult") else "observer"
        if name == "botoware_credential_providers":
            kind = "decision (all results used)"
        doc = inspect.getdoc(function) or ""
        runs = "per attempt" if "once per attempt" in doc else "per call"
        if name in ("botoware_client_created", "botoware_credential_providers"):
            runs = "per client" if name == "botoware_client_created" else "per session"
        if name.startswith("botoware_run_"):
            runs = "per paginate/wait run"
        lines.append(f"| [`{name}`](#{name}) | {runs} | {kind} |")
    lines.append("")
    for name in _LIFECYCLE_ORDER:
        function = getattr(specs, name)
        signature = str(inspect.signature(function)).replace("'", "")
        lines += [f"## {name}", "", "```python", f"def {name}{signature}", "```", ""]
        lines += [inspect.getdoc(function) or "", ""]
    lines += ["## NO_RETRY", "", inspect.cleandoc(specs.NoRetry.__doc__ or ""), ""]
    lines += ["## STEP_OUT", "", inspect.cleandoc(specs.StepOut.__doc__ or ""), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    PAGE.write_text(render())
    sys.stdout.write(f"wrote {PAGE}\n")
