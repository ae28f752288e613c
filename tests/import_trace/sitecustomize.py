"""Records which globalfit modules a process imported (tests only: on PYTHONPATH with
GLOBALFIT_IMPORT_TRACE set to a folder, each process writes <pid>.json there at exit)."""

import atexit
import json
import os
import sys


def _dump() -> None:
    folder = os.environ.get("GLOBALFIT_IMPORT_TRACE")
    modules = sorted(m for m in sys.modules if m == "globalfit" or m.startswith("globalfit."))
    if not folder or not modules:
        return
    main = getattr(sys.modules.get("__main__"), "__file__", None) or (
        sys.argv[0] if sys.argv else ""
    )
    with open(os.path.join(folder, f"{os.getpid()}.json"), "w") as f:
        json.dump({"main": main, "argv": sys.argv, "modules": modules}, f)


atexit.register(_dump)
