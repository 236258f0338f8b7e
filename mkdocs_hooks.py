"""mkdocs hook (mkdocs.yml: ``hooks``): the pages' links to repository files outside docs/.

The pages in docs/ link to files beside them in the repository (``../results/matrix/matrix.png``)
with relative paths, so that the links work where most readers read the pages: on GitHub and
in a checkout. mkdocs only knows the files under docs/ and calls every such link "not found",
which ``--strict`` turns into a failure. This hook adds each linked file that exists (and is not
a Markdown page) to the site, under ``repository/`` with its path in the repository, so the link
resolves in the built site too. A link to a file that does not exist is left alone: mkdocs still
reports it, and ``--strict`` still fails on it. Nothing is written into docs/.
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File, InclusionLevel

# [text](target) and ![alt](target), with an optional "title"; the target ends at a space or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SITE_FOLDER = "repository"


def outside_targets(text: str, page_uri: str) -> set[str]:
    """The links of one page that leave docs/, as paths relative to docs/ (``../results/x.png``)."""
    found = set()
    for target in LINK.findall(text):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "/")):
            continue  # http:, mailto:, an anchor on the page, an absolute path
        path = target.split("#", 1)[0].split("?", 1)[0]
        uri = posixpath.normpath(posixpath.join(posixpath.dirname(page_uri), path))
        if uri.startswith("../"):
            found.add(uri)
    return found


def on_files(files, config):
    docs = Path(config["docs_dir"]).resolve()
    root = Path(config["config_file_path"]).resolve().parent
    for page in list(files.documentation_pages()):
        text = Path(page.abs_src_path).read_text(encoding="utf-8")
        for uri in sorted(outside_targets(text, page.src_uri)):
            target = (docs / uri).resolve()
            if (not target.is_file() or target.suffix in (".md", ".markdown")
                    or not target.is_relative_to(root) or files.get_file_from_path(uri) is not None):
                continue  # missing (mkdocs reports it), a page (not served as a file), or done
            dest = f"{SITE_FOLDER}/{target.relative_to(root).as_posix()}"
            files.append(File(uri, src_dir=str(docs), dest_dir=config["site_dir"],
                              use_directory_urls=config["use_directory_urls"], dest_uri=dest,
                              inclusion=InclusionLevel.INCLUDED))  # else "../" reads as a hidden file
    return files
