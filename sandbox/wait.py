"""Wait until simulators answer their health check: ``python -m sandbox.wait URL [URL ...]``."""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request


def wait_for(urls: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/__admin/health", timeout=2):  # noqa: S310
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise SystemExit(f"{url} did not answer within {timeout:.0f} s") from None
                time.sleep(0.1)


if __name__ == "__main__":
    wait_for(sys.argv[1:])
