"""One clipping file -> a validated, normalised :class:`Clipping`.

Everything messy about real clippings is settled here, at the boundary, so the
rest of searchkit sees typed values only:

* text: mojibake repaired (ftfy), HTML entities decoded, control characters removed;
* dates: timezone-aware UTC; a naive timestamp is taken as UTC, a date-only value
  as midnight UTC; ``-05:00`` and ``Z`` spellings of one instant are equal;
* URLs: the first of ``originalUrl``, ``webUrl``, ``url``, ``sourceUrl``, ``ampUrl``,
  ... plus a canonical form used to recognise the same article under several URLs;
* lists where lists belong (``topics: "economy"`` -> ``("economy",)``).

YAML 1.1 surprises are settled per field (see :class:`searchkit.frontmatter.Plain`):

* text fields (title, excerpt, type, category, provider, URLs, image URLs, ``id``)
  keep an unquoted value *as written*: ``title: NO`` is ``"NO"``, ``12:30`` is
  ``"12:30"``, ``1.10`` is ``"1.10"``, ``2024-05-05`` is ``"2024-05-05"``;
  ``null``, ``~`` and an empty value mean "no value";
* whole-number fields (quality, heat, image sizes) take decimal digits only, quoted
  or not: ``010`` is 10 (not YAML 1.1 octal 8); ``0x10``, ``1_000``, ``1:30``,
  ``3.7``, ``yes``, ``.inf`` and ``1e30`` are errors naming the field;
* ``published`` takes YAML booleans (``true``/``false``, also ``yes``/``no``/``on``/``off``);
* ``topics`` items must be text: ``topics: [yes, 1]`` is an error naming
  ``topics[0]`` (quote a topic that YAML would read as a boolean or number), since a
  non-text topic is nearly always a template bug that would pollute ``topic:``.

A problem raises one :class:`~searchkit.errors.ClippingError` naming file and field.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import html
import os
import re
import stat
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import frontmatter
from .errors import ClippingError, FileVanishedError
from .frontmatter import Plain

MAX_FILE_BYTES = 1_048_576
MAX_FRONT_MATTER_BYTES = 262_144
URL_KEYS = ("originalUrl", "webUrl", "url", "sourceUrl", "ampUrl", "ampWebUrl", "cdnAmpUrl",
            "cdnAmpWebUrl")
SECRET_KEYS = frozenset({"secured"})
KNOWN_KEYS = frozenset(  # every other top-level key is kept in Clipping.extra, never indexed
    {"id", "title", "excerpt", "publishedDateTime", "provider", "topics", "type", "category",
     "quality", "heat", "published", "images", "related", *URL_KEYS, *SECRET_KEYS}
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2028\u2029\ufeff]")
_SPACES = re.compile(r"\s+")
_TRACKING = re.compile(
    r"^(utm_.*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|ocid|cmpid|ncid|_ga|ref|"
    r"ref_src|src|smid|smtyp|cid|amp|outputtype|__twitter_impression)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Provider:
    name: str
    domain: str


@dataclass(frozen=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Related:
    """An article listed in a clipping's ``related`` list."""

    title: str
    excerpt: str
    url: str
    canonical_url: str
    published: dt.datetime | None
    provider: Provider | None
    quality: int | None
    type: str


@dataclass(frozen=True)
class Clipping:
    id: str  # path relative to the indexed folder, with '/' separators
    title: str
    excerpt: str
    url: str
    canonical_url: str
    published: dt.datetime | None
    provider: Provider | None
    topics: tuple[str, ...]
    type: str
    category: str
    quality: int | None
    heat: int | None
    published_flag: bool | None
    images: tuple[Image, ...]
    related: tuple[Related, ...]
    urls: Mapping[str, str] = field(default_factory=dict)
    source_id: str = ""  # the front matter's own ``id``, when it has one
    extra: Mapping[str, Any] = field(default_factory=dict)  # unknown keys, never indexed


@dataclass(frozen=True)
class FileStamp:
    """What the indexer compares to decide whether a file changed."""

    size: int
    mtime_ns: int
    ctime_ns: int
    sha1: str


# ---------------------------------------------------------------- reading files


def read_file(path: str | os.PathLike[str], display: str,
              max_bytes: int = MAX_FILE_BYTES) -> tuple[bytes, os.stat_result]:
    """Read a regular file without ever blocking on a FIFO or device.

    Raises :class:`FileVanishedError` when the file no longer exists, and
    :class:`~searchkit.errors.ClippingError` when it is not a regular file, is larger
    than ``max_bytes`` (checked on the size before reading), or changes size or
    modification time while it is being read (a truncated or half-written file).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise FileVanishedError(display, None, "file disappeared before it could be read"
                                ) from None
    except OSError as exc:
        raise ClippingError(display, None, f"cannot open: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ClippingError(display, None, "not a regular file")
        if st.st_size > max_bytes:
            raise ClippingError(display, None, f"file exceeds {max_bytes} bytes; not read")
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            try:
                chunk = os.read(fd, min(remaining, 1 << 20))
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    break
                raise ClippingError(display, None, f"cannot read: {exc.strerror}") from None
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise ClippingError(display, None, f"file exceeds {max_bytes} bytes; not read")
        after = os.fstat(fd)
        if len(data) != st.st_size or (after.st_size, after.st_mtime_ns) != (
                st.st_size, st.st_mtime_ns):
            raise ClippingError(display, None, "file changed while it was being read "
                                "(truncated or rewritten); it is read again on the next run")
        return data, st
    finally:
        os.close(fd)


def stamp_of(data: bytes, st: os.stat_result) -> FileStamp:
    return FileStamp(st.st_size, st.st_mtime_ns, st.st_ctime_ns, hashlib.sha1(data).hexdigest())


def load_file(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> Clipping:
    """Load ``path`` as a clipping whose id is its path relative to ``root``."""
    rel = printable_path(os.path.relpath(path, root).replace(os.sep, "/"))
    data, _ = read_file(path, rel)
    return parse_bytes(data, rel)


_NAME_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\udc80-\udcff]")


def printable_path(path: str) -> str:
    r"""``path`` with control characters and undecodable bytes shown as ``\xNN``.

    File names are bytes; Python decodes the ones that are not UTF-8 with lone
    surrogates (``b"bad\xff.md"`` -> ``"bad\udcff.md"``), which cannot be written to
    a UTF-8 stream or stored in the index. The indexer lists such a file under this
    escaped name and skips it with a message: it cannot be opened by that name, and a
    control character in a name would break every line-oriented output.
    """
    if not _NAME_UNSAFE.search(path):
        return path

    def escape(m: re.Match[str]) -> str:
        code = ord(m.group())
        return f"\\x{code - 0xDC00 if code >= 0xDC00 else code:02x}"

    return _NAME_UNSAFE.sub(escape, path)


def is_escaped_path(path: str) -> bool:
    """Whether ``path`` may be a :func:`printable_path` escape of an unusable name."""
    return "\\x" in path


def parse_bytes(data: bytes, clip_id: str) -> Clipping:
    """Decode, split and validate the bytes of one clipping file.

    Only :class:`~searchkit.errors.ClippingError` is raised, whatever the bytes.
    """
    return from_mapping(read_mapping(data, clip_id), clip_id)


def read_mapping(data: bytes, clip_id: str) -> dict[str, Any]:
    """The front matter of one clipping file, parsed but not validated (:func:`from_mapping`
    validates it); raises :class:`~searchkit.errors.ClippingError` like :func:`parse_bytes`."""
    if not data:
        raise ClippingError(clip_id, None, "empty file")
    if len(data) > MAX_FILE_BYTES:
        raise ClippingError(clip_id, None, f"file exceeds {MAX_FILE_BYTES} bytes; not parsed")
    if b"\x00" in data:
        raise ClippingError(clip_id, None, "contains NUL bytes (binary file?); skipped")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClippingError(
            clip_id, None,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8",
        ) from None
    return _text_mapping(text, clip_id)


def _text_mapping(text: str, clip_id: str) -> dict[str, Any]:
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        parts = frontmatter.split(text)
        if len(parts.front_matter) > MAX_FRONT_MATTER_BYTES:
            raise frontmatter.FrontMatterError(
                f"front matter exceeds {MAX_FRONT_MATTER_BYTES} bytes; not parsed"
            )
        meta = frontmatter.load_mapping(parts.front_matter)
    except frontmatter.FrontMatterError as exc:
        raise ClippingError(clip_id, exc.field, exc.problem) from None
    return meta


# ---------------------------------------------------------------- validation


def from_mapping(meta: Mapping[str, Any], clip_id: str) -> Clipping:
    """Validate front-matter values (already parsed) into a :class:`Clipping`."""
    v = _Validator(clip_id)
    url, urls = v.url_of(meta, "")
    related_raw = meta.get("related")
    related: list[Related] = []
    if related_raw is not None:
        if not isinstance(related_raw, list):
            v.fail("related", "must be a list of articles")
        for i, item in enumerate(related_raw):
            if not isinstance(item, Mapping):
                v.fail(f"related[{i}]", "must be a mapping with title, url, ...")
            related.append(v.related(item, f"related[{i}]"))
    return Clipping(
        id=clip_id,
        title=v.text(meta, "title"),
        excerpt=v.text(meta, "excerpt"),
        url=url,
        canonical_url=canonical_url(url) if url else "",
        published=v.date(meta, "publishedDateTime"),
        provider=v.provider(meta.get("provider"), "provider"),
        topics=v.topics(meta.get("topics"), "topics"),
        type=v.text(meta, "type").lower(),
        category=v.text(meta, "category"),
        quality=v.integer(meta, "quality", 0, 100),
        heat=v.integer(meta, "heat", -(2**31), 2**31 - 1),
        published_flag=v.boolean(meta, "published"),
        images=v.images(meta.get("images"), "images"),
        related=tuple(related),
        urls=urls,
        source_id=v.text(meta, "id"),
        extra={str(k): _unwrap(val) for k, val in meta.items() if k not in KNOWN_KEYS},
    )


class _Validator:
    def __init__(self, clip_id: str) -> None:
        self.clip_id = clip_id

    def fail(self, fld: str, problem: str) -> NoReturn:
        raise ClippingError(self.clip_id, fld, problem)

    def text(self, meta: Mapping[str, Any], key: str, prefix: str = "") -> str:
        """A text field: a plain YAML scalar keeps its text as written (``NO``, ``1.10``)."""
        value = meta.get(key)
        if value is None:
            return ""
        if isinstance(value, Plain):
            return clean_text(value.text)
        if isinstance(value, str):
            return clean_text(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return clean_text(_number_text(value))  # an explicit !!int / !!float
        self.fail(prefix + key, f"must be text, not {_kind(value)}")

    def integer(self, meta: Mapping[str, Any], key: str, lo: int, hi: int,
                prefix: str = "") -> int | None:
        """A whole number written in decimal digits, quoted or not (``010`` is 10)."""
        raw = meta.get(key)
        if raw is None:
            return None
        value: Any = raw.text if isinstance(raw, Plain) else raw
        if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(prefix + key, f"must be a whole number from {lo} to {hi}, "
                                    f"not {_kind(raw)} {_show(raw)}")
        if not lo <= value <= hi:
            self.fail(prefix + key, f"must be a whole number from {lo} to {hi}, "
                                    f"not {_show(raw)}")
        return int(value)

    def boolean(self, meta: Mapping[str, Any], key: str) -> bool | None:
        raw = meta.get(key)
        value = _unwrap(raw)
        if value is None or isinstance(value, bool):
            return value
        self.fail(key, f"must be true or false, not {_show(raw)}")

    def date(self, meta: Mapping[str, Any], key: str, prefix: str = "") -> dt.datetime | None:
        value = meta.get(key)
        if value is None or value == "":
            return None
        try:
            return normalise_datetime(value)
        except ValueError as exc:
            self.fail(prefix + key, str(exc))

    def url_of(self, meta: Mapping[str, Any], prefix: str) -> tuple[str, dict[str, str]]:
        urls: dict[str, str] = {}
        for key in URL_KEYS:
            value = meta.get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, (str, Plain)):
                self.fail(prefix + key, f"must be a URL string, not {_kind(value)}")
            cleaned = self.text(meta, key, prefix)
            if cleaned:
                urls[key] = cleaned
        return next(iter(urls.values()), ""), urls

    def provider(self, value: Any, key: str) -> Provider | None:
        if value is None:
            return None
        if isinstance(value, (str, Plain)):
            name = clean_text(value.text if isinstance(value, Plain) else value)
            return Provider(name, "") if name else None
        if not isinstance(value, Mapping):
            self.fail(key, f"must be a mapping with name and domain, not {_kind(value)}")
        name = self.text(value, "name", key + ".")
        domain = self.text(value, "domain", key + ".").lower()
        if domain.startswith("www."):
            domain = domain[4:]
        return Provider(name, domain) if name or domain else None

    def topics(self, value: Any, key: str) -> tuple[str, ...]:
        """Text items only: ``topics: [yes, 1]`` is an error, ``topics: x`` is ``("x",)``."""
        if value is None:
            return ()
        if isinstance(value, (str, Plain)):
            value = [value]
        if not isinstance(value, list):
            self.fail(key, f"must be a list of text, not {_kind(value)}")
        out: list[str] = []
        for i, item in enumerate(value):
            if isinstance(item, Plain):
                self.fail(f"{key}[{i}]", f"must be text, not {_kind(item)} {_show(item)} "
                                         f"(quote it to keep it as text)")
            if not isinstance(item, str):
                self.fail(f"{key}[{i}]", f"must be text, not {_kind(item)} {_show(item)}")
            cleaned = clean_text(item)
            if cleaned and cleaned not in out:
                out.append(cleaned)
        return tuple(out)

    def images(self, value: Any, key: str) -> tuple[Image, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(key, f"must be a list, not {_kind(value)}")
        out: list[Image] = []
        for i, item in enumerate(value):
            if isinstance(item, (str, Plain)):
                url = clean_text(item.text if isinstance(item, Plain) else item)
                if url:
                    out.append(Image(url))
                continue
            if not isinstance(item, Mapping):
                self.fail(f"{key}[{i}]", f"must be a mapping with url, not {_kind(item)}")
            url = self.text(item, "url", f"{key}[{i}].")
            width = self.integer(item, "width", 0, 10**6, f"{key}[{i}].")
            height = self.integer(item, "height", 0, 10**6, f"{key}[{i}].")
            if url:
                out.append(Image(url, width, height))
        return tuple(out)

    def related(self, item: Mapping[str, Any], key: str) -> Related:
        url, _ = self.url_of(item, key + ".")
        return Related(
            title=self.text(item, "title", key + "."),
            excerpt=self.text(item, "excerpt", key + "."),
            url=url,
            canonical_url=canonical_url(url) if url else "",
            published=self.date(item, "publishedDateTime", key + "."),
            provider=self.provider(item.get("provider"), key + ".provider"),
            quality=self.integer(item, "quality", 0, 100, key + "."),
            type=self.text(item, "type", key + ".").lower(),
        )


_DECIMAL = re.compile(r"[+-]?[0-9]{1,12}")


def _kind(value: Any) -> str:
    if isinstance(value, Plain):
        value = value.value
    return {
        bool: "true/false", int: "a number", float: "a number", str: "text",
        list: "a list", dict: "a mapping", dt.datetime: "a date", dt.date: "a date",
    }.get(type(value), type(value).__name__)


def _number_text(value: int | float) -> str:
    try:
        return str(value)
    except ValueError:  # an int too long for str() (over 4300 digits)
        digits = int(value.bit_length() * 0.30103) if isinstance(value, int) else 0
        return f"<a number of about {digits} digits>"


def _show(value: Any, limit: int = 60) -> str:
    """A short, safe rendering of a bad value for an error message."""
    if isinstance(value, Plain):
        text = repr(value.text)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = _number_text(value)
    else:
        try:
            text = repr(_unwrap(value))
        except ValueError:  # an int too long for repr() inside a container
            text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unwrap(value: Any, depth: int = 0) -> Any:
    """Plain scalars -> their YAML values, through lists and mappings."""
    if isinstance(value, Plain):
        return value.value
    if depth > 64:
        return value
    if isinstance(value, list):
        return [_unwrap(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _unwrap(v, depth + 1) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- normalisers


def clean_text(value: str) -> str:
    """Repair mojibake and HTML entities, drop control characters, fold white space."""
    if not value.isascii():
        import ftfy  # imported lazily: only non-ASCII text pays for it

        value = ftfy.fix_text(value, unescape_html=False, normalization="NFC")
    if "&" in value:
        value = html.unescape(value)
        if not value.isascii():
            value = unicodedata.normalize("NFC", value)
    value = _CONTROL.sub(" ", value)
    return _SPACES.sub(" ", value).strip()


def normalise_datetime(value: Any) -> dt.datetime:
    """Any accepted date value -> an aware UTC datetime, second precision.

    * aware datetime: converted to UTC (``...-05:00`` and the same instant in ``Z``
      give equal values);
    * naive datetime (no offset): taken as UTC;
    * date only (``2021-05-05``): midnight UTC;
    * text: ISO 8601 (``2021-05-05T10:00:00-05:00``, ``...Z``, ``2021-05-05``);
    * anything else (``yesterday``, ``2024-13-45``, ``12:30``, a number), or a year
      outside 1800..2200: :class:`ValueError`.
    """
    if isinstance(value, Plain):
        value = value.value if isinstance(value.value, dt.date) else value.text
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            result = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"not a date: {_show(value)} (use ISO 8601, e.g. 2021-05-05T14:30:00Z)"
            ) from None
    else:
        raise ValueError(f"must be a date, not {_kind(value)} {_show(value)}")
    if not 1800 <= result.year <= 2200:
        raise ValueError(f"date {result.date()} is outside 1800..2200")
    if result.tzinfo is None:
        result = result.replace(tzinfo=dt.timezone.utc)
    try:
        result = result.astimezone(dt.timezone.utc).replace(microsecond=0)
    except (OverflowError, ValueError):  # pragma: no cover - excluded by the year check
        raise ValueError(f"date {result.date()} is outside 1800..2200") from None
    return result


def canonical_url(url: str) -> str:
    """A stable form of ``url`` for recognising one article under several URLs.

    Lower-case scheme and host, https for http, no ``www.``/``amp.``/``m.`` host
    prefix, no default port, fragment or tracking parameters (``utm_*``, ``fbclid``,
    ...), sorted query, no trailing slash, and AMP variants (AMP cache hosts,
    ``/amp`` path segments, ``.amp.html``) folded onto the article URL.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        return url.strip()
    try:
        host = (parts.hostname or "").lower()
        port = parts.port if parts.port not in (None, 80, 443) else None
    except ValueError:  # a port that is not a number or out of range
        return url.strip()
    path = parts.path or "/"
    if host.endswith(".cdn.ampproject.org"):
        # https://example-com.cdn.ampproject.org/c/s/example.com/path -> example.com/path
        m = re.match(r"^/[a-z](?:/s)?/([^/]+)(/.*)?$", path)
        if m:
            host = m.group(1).lower()
            path = m.group(2) or "/"
    for prefix in ("www.", "amp.", "m."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
    netloc = f"{host}:{port}" if port else host
    segments = [s for s in path.split("/") if s]
    segments = [s for s in segments if s.lower() != "amp"]
    if segments and segments[-1].lower().endswith(".amp.html"):
        segments[-1] = segments[-1][: -len(".amp.html")] + ".html"
    path = "/" + "/".join(segments)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(k)]
    return urlunsplit(("https", netloc, path, urlencode(sorted(query)), ""))


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a web address searchkit can look up (None when it is): it
    needs an http(s) scheme and a host, and no spaces or control characters."""
    text = url.strip()
    if not text:
        return "it is empty"
    if re.search(r"[\s\x00-\x1f\x7f]", text):
        return "it holds spaces or control characters (quote each URL whole)"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        return f"it cannot be read as a URL ({exc})"
    if not parts.scheme or "." in parts.scheme:  # gcn.com:8080/x reads as a scheme
        return f"it has no scheme: write it as https://{text.lstrip('/')}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"its scheme is {parts.scheme}:, not http: or https:"
    if not parts.hostname:
        return "it has no host (the part after https://)"
    return None
