"""The README is the front door: short, and linking every page of docs/; every relative link of
the README and of the pages names a file that exists, so each reads on GitHub as on the site.
(The site itself is built with `mkdocs build --strict` by scripts/test.sh.)"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def without_code_blocks(page: Path) -> str:
    return re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)


def relative_links(page: Path, *, anchors: bool = False) -> list[str]:
    """Each link to a file of the repository, without its #anchor unless ``anchors``."""
    return [
        m["target"] if anchors else m["target"].split("#")[0]
        for m in LINK.finditer(without_code_blocks(page))
        if not re.match(r"[a-z]+:", m["target"]) and not m["target"].startswith("#")
    ]


def github_anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to
    hyphens (MkDocs' own, which `mkdocs build --strict` checks, agree on these pages)."""
    headings = re.findall(r"^#+ (.+)$", without_code_blocks(page), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_readme_is_short_and_links_every_page() -> None:
    readme = ROOT / "README.md"
    assert len(readme.read_text(encoding="utf-8").splitlines()) < 150
    linked = {(ROOT / target).resolve() for target in relative_links(readme)}
    pages = sorted(DOCS.rglob("*.md"))
    assert len(pages) >= 14
    assert [str(p.relative_to(ROOT)) for p in pages if p.resolve() not in linked] == []


def test_every_relative_link_names_a_file_of_the_repository() -> None:
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
        for target in relative_links(page)
        if not (page.parent / target).exists()
    ]
    assert broken == []


def test_every_anchor_names_a_heading_as_github_spells_it() -> None:
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
        for target in relative_links(page, anchors=True)
        if "#" in target
        and target.split("#")[1] not in github_anchors(page.parent / target.split("#")[0])
    ]
    assert broken == []


def first_bash_block(text: str, after: str) -> str:
    section = text[text.index(after) :]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def test_the_readme_runs_it_for_real_as_the_page_does() -> None:
    """README.md's ten lines are a copy of the first steps of docs/running-for-real.md (whose
    credential check tests/reliability/test_credentials.py runs as written)."""
    readme = first_bash_block((ROOT / "README.md").read_text(encoding="utf-8"), "## Run it")
    page = (DOCS / "running-for-real.md").read_text(encoding="utf-8")
    assert readme == first_bash_block(page, "## First steps")
    assert len(readme.splitlines()) <= 10
