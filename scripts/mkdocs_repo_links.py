"""MkDocs hook: a docs page's relative link to a file of the repository outside docs/
(`../bench/RESULTS.md`, `../tap-mobilize/README.md`) works on GitHub as written; on the site it
becomes a link to that file on GitHub, and a link to a file that does not exist fails the build.

MkDocs itself only knows the pages under docs/: it would report such links as not found, and
strict mode would fail on every one of them, broken or not.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mkdocs.exceptions import PluginError

# An inline Markdown link or image target: ](target) or ](target "title").
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **_: Any) -> str:
    docs_dir = Path(config["docs_dir"]).resolve()
    repo = docs_dir.parent
    repo_url = str(config.get("repo_url") or "").rstrip("/")
    page_dir = posixpath.dirname(page.file.src_uri)

    def rewrite(match: re.Match[str]) -> str:
        target = match.group("target")
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path or target.startswith("/"):
            return match.group(0)
        inside_docs = posixpath.normpath(posixpath.join(page_dir, parts.path))
        if not inside_docs.startswith("../"):
            return match.group(0)  # a page or file of the site: MkDocs checks it
        path = (docs_dir / inside_docs).resolve()
        if not path.exists() or repo not in path.parents:
            raise PluginError(
                f"{page.file.src_uri}: the link {target!r} names {inside_docs}, "
                "which is not in the repository"
            )
        kind = "tree" if path.is_dir() else "blob"
        anchor = f"#{parts.fragment}" if parts.fragment else ""
        url = f"{repo_url}/{kind}/main/{path.relative_to(repo).as_posix()}{anchor}"
        return f"]({url}{match.group('title') or ''})"

    lines, fenced = [], False
    for line in markdown.splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
        lines.append(line if fenced else _LINK.sub(rewrite, line))
    return "".join(lines)
