"""The kiln binary a bench script runs when not told: $KILN, else
$KILN_BUILD_DIR/tools/kiln/kiln, else build/tools/kiln/kiln in this checkout."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def default_kiln():
    build = os.environ.get("KILN_BUILD_DIR", os.path.join(ROOT, "build"))
    return os.environ.get("KILN") or os.path.join(build, "tools", "kiln", "kiln")
