"""What kube-apiserver's proxy changes in a backend's answer (apimachinery's util/proxy
Transport): a redirect's Location, and the links of an HTML page, that point at the backend
itself are made to go through the proxy path again. Pure: text in, text out.

The API server re-serializes every start tag its HTML tokenizer meets; this rewrites only the
tags that carry a URL attribute, and leaves every other byte of the page as the backend sent it."""

from __future__ import annotations

import html
import posixpath
import re
from urllib.parse import urlsplit, urlunsplit

# Which attributes of which tags hold a URL (the API server's atomsToAttrs)
URL_ATTRIBUTES = {
    "a": {"href"}, "applet": {"codebase"}, "area": {"href"}, "audio": {"src"}, "base": {"href"},
    "blockquote": {"cite"}, "body": {"background"}, "button": {"formaction"}, "command": {"icon"},
    "del": {"cite"}, "embed": {"src"}, "form": {"action"}, "frame": {"longdesc", "src"},
    "head": {"profile"}, "html": {"manifest"}, "iframe": {"longdesc", "src"},
    "img": {"longdesc", "src", "usemap"}, "input": {"src", "usemap", "formaction"}, "ins": {"cite"},
    "link": {"href"}, "object": {"classid", "codebase", "data", "usemap"}, "q": {"cite"},
    "script": {"src"}, "source": {"src"}, "video": {"poster", "src"},
}
# Elements whose content is text to an HTML tokenizer, never tags
_RAW_TEXT = ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext")

_TOKEN = re.compile(r"<!--.*?(?:-->|\Z)|<[!?/][^>]*>?|<([a-zA-Z][^\s/>]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
_ATTR = re.compile(r"([^\s\"'>/=]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")


def rewrite_url(target: str, backend_host: str, request_host: str, prefix: str) -> str:
    """A URL of the backend's answer, as the proxy passes it on: one on the backend's host (or
    the proxy's), with an absolute path, is put under `prefix`; any other is left as it is."""
    try:
        url = urlsplit(target)
    except ValueError:
        return target
    elsewhere = url.netloc and url.netloc not in (backend_host, request_host)
    if elsewhere or not url.path.startswith("/"):
        return target
    # The API server's rewriting transport knows no scheme or host of its own (a server's
    # request URL has neither): a link to the backend becomes a path on the proxy's host.
    scheme, netloc = (url.scheme, url.netloc) if url.netloc == request_host else ("", "")
    path = url.path
    if not path.startswith(prefix):
        path = posixpath.normpath(prefix + "/" + path.lstrip("/"))
        path = "/" + path.lstrip("/") + ("/" if url.path.endswith("/") and not path.endswith("/") else "")
    return urlunsplit((scheme, netloc, path, url.query, url.fragment))


def _escape(value: str) -> str:
    """Go's html escaping of an attribute value."""
    return (value.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("\r", "&#13;"))


def _start_tag(tag: str, attributes: str, rewrite) -> str | None:
    """The tag re-serialized with its URL attributes rewritten (as Go's Token.String() writes a
    tag), or None when it has none to rewrite."""
    wanted = URL_ATTRIBUTES.get(tag.lower())
    if not wanted:
        return None
    pairs = [(m.group(1).lower(), m.group(2)) for m in _ATTR.finditer(attributes)]
    if not any(key in wanted for key, _ in pairs):
        return None
    closing = attributes.rstrip().endswith("/")
    out = []
    for key, raw in pairs:
        value = html.unescape(raw[1:-1] if raw and raw[0] in "\"'" else raw or "")
        if key in wanted:
            value = rewrite(value)
        out.append(f' {key}="{_escape(value)}"')
    return f"<{tag.lower()}{''.join(out)}{'/' if closing else ''}>"


def rewrite_html(page: str, rewrite) -> str:
    """Every URL attribute of the page passed through `rewrite`, outside raw-text elements."""
    out, at, pos = [], 0, 0
    while (match := _TOKEN.search(page, pos)) is not None:
        pos = match.end()
        tag = match.group(1)
        if tag is None:
            continue
        attributes = match.group(2) or ""
        tag_text = _start_tag(tag, attributes, rewrite)
        if tag_text is not None:
            out += [page[at:match.start()], tag_text]
            at = pos
        if tag.lower() in _RAW_TEXT and not attributes.rstrip().endswith("/"):
            end = re.compile(f"</{re.escape(tag)}[\\s/>]", re.I).search(page, pos)
            pos = end.start() if end else len(page)
    out.append(page[at:])
    return "".join(out)
