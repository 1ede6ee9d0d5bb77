"""The string `format`s a CustomResourceDefinition's schema can ask for, checked as kube-apiserver
1.35 checks them. Pure, standard library only.

apiextensions-apiserver v0.35 keeps only the formats of `supportedVersionedFormats`
(pkg/apiserver/validation/formats.go) and blanks every other one before validating, so any other
format (int32, int64, float, double, ...) is ignored, as on a cluster. A format name
is normalized by removing "-" first (go-openapi's DefaultNameNormalizer): `date-time` is
`datetime`, `k8s-short-name` is `k8sshortname`. Each check is a port of the validator
kube-openapi's strfmt registry holds for the name (default.go, date.go, duration.go, time.go,
bson.go, kubernetes-extensions.go, and its vendored govalidator), including the Go standard
library functions they call (net/url.ParseRequestURI, net/mail.ParseAddress, net.ParseMAC,
net.ParseIP and k8s.io/utils' "sloppy" ParseIP/ParseCIDR, time.Parse, time.ParseDuration), as
Go 1.25 (the toolchain of Kubernetes 1.35) has them.

Go regexes run on UTF-8 and their `\\d`, `\\s` are ASCII-only and `$` is the end of the text,
so every pattern here is written with explicit ASCII classes and matched with `fullmatch`, and
lengths Go takes in bytes are taken in UTF-8 bytes. `hostname`'s \\p{L} and \\p{S} are
unicodedata's categories plus the letters and symbols Unicode 15.0 (Go 1.25's tables) added to
Python 3.11's 14.0; on a Python with a later Unicode, letters added after 15.0 would pass where Go
refuses them. Compared with the Go code on a few hundred thousand generated values, every format
agrees."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# supportedVersionedFormats at 1.35, normalized (1.34 added k8s-short-name, k8s-long-name).
SUPPORTED = frozenset({
    "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac",
    "uuid", "uuid3", "uuid4", "uuid5", "isbn", "isbn10", "isbn13", "creditcard", "ssn",
    "hexcolor", "rgbcolor", "byte", "password", "date", "duration", "datetime",
    "k8sshortname", "k8slongname",
})


def is_validated(format: str) -> bool:
    """Whether kube-apiserver 1.35 validates this `format` (it blanks the others)."""
    return format.replace("-", "") in SUPPORTED


def check(value: str, format: str) -> bool | None:
    """Whether `value` is valid for `format`; None for a format Kubernetes does not validate."""
    name = format.replace("-", "")
    if name not in SUPPORTED:
        return None
    # Go's JSON decoder turns a lone surrogate into U+FFFD; Python's keeps it.
    return _CHECKS[name](_SURROGATE.sub("\ufffd", value))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _blen(s: str) -> int:
    """len() of a Go string: its UTF-8 bytes."""
    return len(s.encode("utf-8"))


def _digit(c: str) -> bool:
    return "0" <= c <= "9"


def _hexval(c: str) -> int:
    """The value of an ASCII hex digit, -1 for anything else."""
    if "0" <= c <= "9":
        return ord(c) - 48
    if "a" <= c <= "f":
        return ord(c) - 87
    if "A" <= c <= "F":
        return ord(c) - 55
    return -1


# --- regex formats (strfmt default.go, kubernetes-extensions.go, govalidator patterns.go) -----

_HEX = "[0-9a-fA-F]"
_UUID = re.compile(f"{_HEX}{{8}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{12}}")
_UUID3 = re.compile(f"{_HEX}{{8}}-?{_HEX}{{4}}-?3{_HEX}{{3}}-?{_HEX}{{4}}-?{_HEX}{{12}}")
_UUID4 = re.compile(f"{_HEX}{{8}}-?{_HEX}{{4}}-?4{_HEX}{{3}}-?[89abAB]{_HEX}{{3}}-?{_HEX}{{12}}")
_UUID5 = re.compile(f"{_HEX}{{8}}-?{_HEX}{{4}}-?5{_HEX}{{3}}-?[89abAB]{_HEX}{{3}}-?{_HEX}{{12}}")
_HEXCOLOR = re.compile(f"#?(?:{_HEX}{{3}}|{_HEX}{{6}})")
_BYTE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})")
_SSN = re.compile(r"[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}")
_SP = "[\t\n\f\r ]*"  # Go's \s* (no \v)
_OCTET = "(?:0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])"
_RGBCOLOR = re.compile(rf"rgb\({_SP}{_OCTET}{_SP},{_SP}{_OCTET}{_SP},{_SP}{_OCTET}{_SP}\)")
_CREDITCARD = re.compile(r"(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}"
                         r"|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35[0-9]{3})[0-9]{11})")
_NOT_DIGITS = re.compile(r"[^0-9]+")
_SPACES_AND_MINUS = re.compile(r"[\t\n\f\r -]+")
_ISBN10 = re.compile(r"[0-9]{9}X|[0-9]{10}")
_ISBN13 = re.compile(r"[0-9]{13}")
_SHORT_NAME = "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_SHORT_NAME_RE = re.compile(_SHORT_NAME)
_LONG_NAME_RE = re.compile(rf"{_SHORT_NAME}(?:\.{_SHORT_NAME})*")
_BSON = re.compile(f"{_HEX}{{24}}")  # hex.DecodeString to exactly 12 bytes


def _is_hexcolor(s: str) -> bool:
    return _HEXCOLOR.fullmatch(s) is not None


def _is_rgbcolor(s: str) -> bool:
    return _RGBCOLOR.fullmatch(s) is not None


def _is_byte(s: str) -> bool:
    return _BYTE.fullmatch(s) is not None


def _is_ssn(s: str) -> bool:
    return _blen(s) == 11 and _SSN.fullmatch(s) is not None


def _is_creditcard(s: str) -> bool:
    digits = _NOT_DIGITS.sub("", s)
    if _CREDITCARD.fullmatch(digits) is None:
        return False
    total, double = 0, False
    for c in reversed(digits):
        n = int(c)
        if double:
            n *= 2
            total += n % 10 + 1 if n >= 10 else n
        else:
            total += n
        double = not double
    return total % 10 == 0


def _is_isbn10(s: str) -> bool:
    s = _SPACES_AND_MINUS.sub("", s)
    if _ISBN10.fullmatch(s) is None:
        return False
    checksum = sum((i + 1) * int(s[i]) for i in range(9))
    checksum += 100 if s[9] == "X" else 10 * int(s[9])
    return checksum % 11 == 0


def _is_isbn13(s: str) -> bool:
    s = _SPACES_AND_MINUS.sub("", s)
    if _ISBN13.fullmatch(s) is None:
        return False
    checksum = sum((1, 3)[i % 2] * int(s[i]) for i in range(12))
    return int(s[12]) - (10 - checksum % 10) % 10 == 0


def _is_short_name(s: str) -> bool:
    return len(s) <= 63 and _SHORT_NAME_RE.fullmatch(s) is not None


def _is_long_name(s: str) -> bool:
    return len(s) <= 253 and _LONG_NAME_RE.fullmatch(s) is not None


# --- hostname ---------------------------------------------------------------------------------

# strfmt's HostnamePattern over [a-zA-Z0-9\p{S}\p{L}] classes, run on the value with each
# character replaced by its class: "a" a letter (\p{L}), "0" an ASCII digit, "s" a symbol
# (\p{S}), "-" and "." themselves, "!" anything else.
_HOSTNAME = re.compile(r"[a0s](?:-?[a0s]{0,62})?|(?:[a0s](?:[-a0s]{0,61}[a0s])?\.)+a{2,63}")


# The letters ("a") and symbols ("s") Unicode 15.0 (Go 1.25's tables) added to 14.0 (the
# unicodedata of Python 3.11, the runtime image's): unassigned for unicodedata, so looked up here.
# A Python on Unicode 15.1 or later takes the letters added since as letters, Go 1.25 does not.
_UNICODE_15 = (
    (0x1123F, 0x11240, "a"), (0x11F02, 0x11F02, "a"), (0x11F04, 0x11F10, "a"),
    (0x11F12, 0x11F33, "a"), (0x1342F, 0x1342F, "a"), (0x13441, 0x13446, "a"),
    (0x1B132, 0x1B132, "a"), (0x1B155, 0x1B155, "a"), (0x1DF25, 0x1DF2A, "a"),
    (0x1E030, 0x1E06D, "a"), (0x1E4D0, 0x1E4EB, "a"), (0x1F6DC, 0x1F6DC, "s"),
    (0x1F774, 0x1F776, "s"), (0x1F77B, 0x1F77F, "s"), (0x1F7D9, 0x1F7D9, "s"),
    (0x1FA75, 0x1FA77, "s"), (0x1FA87, 0x1FA88, "s"), (0x1FAAD, 0x1FAAF, "s"),
    (0x1FABB, 0x1FABD, "s"), (0x1FABF, 0x1FABF, "s"), (0x1FACE, 0x1FACF, "s"),
    (0x1FADA, 0x1FADB, "s"), (0x1FAE8, 0x1FAE8, "s"), (0x1FAF7, 0x1FAF8, "s"),
    (0x2B739, 0x2B739, "a"), (0x31350, 0x323AF, "a"),
)


def _host_class(c: str) -> str:
    if c in ("-", "."):
        return c
    if "0" <= c <= "9":
        return "0"
    category = unicodedata.category(c)
    if category == "Cn":
        return next((cls for low, high, cls in _UNICODE_15 if low <= ord(c) <= high), "!")
    return "a" if category[0] == "L" else "s" if category[0] == "S" else "!"


def _is_hostname(s: str) -> bool:
    if _blen(s) > 255:
        return False
    if _HOSTNAME.fullmatch("".join(_host_class(c) for c in s)) is None:
        return False
    return all(_blen(label) <= 63 for label in s.split("."))


# --- IP addresses (Go net/netip, and k8s.io/utils' forked Go 1.16 parser) ---------------------


def _netip_v4_fields(s: str) -> bool:
    """netip.parseIPv4Fields: four decimal fields, no leading zeros, each <= 255."""
    val, pos, digits = 0, 0, 0
    for i, c in enumerate(s):
        if _digit(c):
            if digits == 1 and val == 0:
                return False
            val = val * 10 + ord(c) - 48
            digits += 1
            if val > 255:
                return False
        elif c == ".":
            if i == 0 or i == len(s) - 1 or s[i - 1] == ".":
                return False
            if pos == 3:
                return False
            pos, val, digits = pos + 1, 0, 0
        else:
            return False
    return pos == 3


def _netip_v6(s: str) -> tuple[bool, str]:
    """netip.parseIPv6: (valid, zone)."""
    zone = ""
    if "%" in s:
        s, zone = s.split("%", 1)
        if not zone:
            return False, ""
    ellipsis = -1
    if s.startswith("::"):
        ellipsis = 0
        s = s[2:]
        if not s:
            return True, zone
    i = 0
    while i < 16:
        off, acc = 0, 0
        while off < len(s):
            h = _hexval(s[off])
            if h < 0:
                break
            acc = (acc << 4) + h
            if off > 3 or acc > 0xFFFF:
                return False, ""
            off += 1
        if off == 0:
            return False, ""
        if off < len(s) and s[off] == ".":
            if ellipsis < 0 and i != 12:
                return False, ""
            if i + 4 > 16:
                return False, ""
            if not _netip_v4_fields(s):
                return False, ""
            s = ""
            i += 4
            break
        i += 2
        s = s[off:]
        if not s:
            break
        if s[0] != ":" or len(s) == 1:
            return False, ""
        s = s[1:]
        if s[0] == ":":
            if ellipsis >= 0:
                return False, ""
            ellipsis = i
            s = s[1:]
            if not s:
                break
    if s:
        return False, ""
    if i < 16:
        if ellipsis < 0:
            return False, ""
    elif ellipsis >= 0:
        return False, ""
    return True, zone


def _netip_parse(s: str) -> tuple[str, str] | None:
    """netip.ParseAddr: ("4" or "6", zone), or None when it fails."""
    for c in s:
        if c == ".":
            return ("4", "") if _netip_v4_fields(s) else None
        if c == ":":
            ok, zone = _netip_v6(s)
            return ("6", zone) if ok else None
        if c == "%":
            return None
    return None


def _go_parse_ip(s: str) -> bool:
    """net.ParseIP (Go 1.25): netip.ParseAddr without a zone."""
    parsed = _netip_parse(s)
    return parsed is not None and parsed[1] == ""


def _dtoi(s: str) -> tuple[int, int, bool]:
    """The forked parser's dtoi: a leading decimal number, its length, ok."""
    n, i = 0, 0
    while i < len(s) and _digit(s[i]):
        n = n * 10 + ord(s[i]) - 48
        if n >= 0xFFFFFF:
            return 0xFFFFFF, i, False
        i += 1
    return (n, i, True) if i else (0, 0, False)


def _xtoi(s: str) -> tuple[int, int, bool]:
    n, i = 0, 0
    while i < len(s):
        h = _hexval(s[i])
        if h < 0:
            break
        n = n * 16 + h
        if n >= 0xFFFFFF:
            return 0, i, False
        i += 1
    return (n, i, True) if i else (0, i, False)


def _sloppy_v4(s: str) -> bool:
    """k8s.io/utils forked parseIPv4: leading zeros allowed."""
    for i in range(4):
        if not s:
            return False
        if i > 0:
            if s[0] != ".":
                return False
            s = s[1:]
        n, c, ok = _dtoi(s)
        if not ok or n > 0xFF:
            return False
        s = s[c:]
    return not s


def _sloppy_v6(s: str) -> bool:
    """k8s.io/utils forked parseIPv6 (no zones)."""
    ellipsis = -1
    if s.startswith("::"):
        ellipsis = 0
        s = s[2:]
        if not s:
            return True
    i = 0
    while i < 16:
        n, c, ok = _xtoi(s)
        if not ok or n > 0xFFFF:
            return False
        if c < len(s) and s[c] == ".":
            if ellipsis < 0 and i != 12:
                return False
            if i + 4 > 16:
                return False
            if not _sloppy_v4(s):
                return False
            s = ""
            i += 4
            break
        i += 2
        s = s[c:]
        if not s:
            break
        if s[0] != ":" or len(s) == 1:
            return False
        s = s[1:]
        if s[0] == ":":
            if ellipsis >= 0:
                return False
            ellipsis = i
            s = s[1:]
            if not s:
                break
    if s:
        return False
    if i < 16:
        return ellipsis >= 0
    return ellipsis < 0


def _is_ipv4(s: str) -> bool:
    """strfmt isIPv4: netutils.ParseIPSloppy(s) != nil and s holds a "." (so ::ffff:1.2.3.4 too)."""
    if "." not in s:
        return False
    for c in s:
        if c == ".":
            return _sloppy_v4(s)
        if c == ":":
            return _sloppy_v6(s)
    return False


def _is_ipv6(s: str) -> bool:
    """govalidator.IsIPv6: net.ParseIP(s) != nil and s holds a ":"."""
    return ":" in s and _go_parse_ip(s)


def _is_cidr(s: str) -> bool:
    """strfmt isCIDR: netutils.ParseCIDRSloppy (leading zeros allowed)."""
    if "/" not in s:
        return False
    addr, mask = s.split("/", 1)
    bits = 32
    if not _sloppy_v4(addr):
        if not _sloppy_v6(addr):
            return False
        bits = 128
    n, i, ok = _dtoi(mask)
    return ok and i == len(mask) and 0 <= n <= bits


def _is_mac(s: str) -> bool:
    """net.ParseMAC: 6, 8 or 20 octets as xx:xx.., xx-xx.. or xxxx.xxxx.."""
    if not s.isascii() or len(s) < 14:
        return False

    def pair(at: int, sep: str) -> bool:
        if at + 2 < len(s) and s[at + 2] != sep:
            return False
        return _hexval(s[at]) >= 0 and _hexval(s[at + 1]) >= 0

    if s[2] in ":-":
        if (len(s) + 1) % 3:
            return False
        n = (len(s) + 1) // 3
        return n in (6, 8, 20) and all(pair(3 * i, s[2]) for i in range(n))
    if s[4] == ".":
        if (len(s) + 1) % 5:
            return False
        n = 2 * (len(s) + 1) // 5
        if n not in (6, 8, 20):
            return False
        return all(_hexval(s[x]) >= 0 and _hexval(s[x + 1]) >= 0 and pair(x + 2, ".")
                   for x in range(0, len(s), 5))
    return False


# --- uri: net/url.ParseRequestURI -------------------------------------------------------------

_HOST_OK = set("!$&'()*+,;=:[]<>\"-_.~")


def _host_char_bad(c: str) -> bool:
    """url.shouldEscape(c, encodeHost) for an ASCII byte."""
    return not (c.isascii() and (c.isalnum() or c in _HOST_OK))


def _unescape(s: str, mode: str) -> str | None:
    """url.unescape for the modes ParseRequestURI uses ("path", "user", "host", "zone");
    None on an error. Escapes decode to one character per byte (enough to validate)."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "%":
            if i + 2 >= len(s) or _hexval(s[i + 1]) < 0 or _hexval(s[i + 2]) < 0:
                return None
            v = _hexval(s[i + 1]) << 4 | _hexval(s[i + 2])
            if mode == "host" and _hexval(s[i + 1]) < 8 and s[i:i + 3] != "%25":
                return None
            if mode == "zone" and s[i:i + 3] != "%25" and v != 0x20 and _host_char_bad(chr(v)):
                return None
            out.append(chr(v))
            i += 3
            continue
        if mode in ("host", "zone") and c < "\x80" and _host_char_bad(c):
            return None
        out.append(c)
        i += 1
    return "".join(out)


def _valid_optional_port(port: str) -> bool:
    return port == "" or (port[0] == ":" and all(_digit(c) for c in port[1:]))


def _valid_host(host: str) -> bool:
    """url.parseHost."""
    if "[" in host:
        opened, closed = host.rfind("["), host.rfind("]")
        if closed < 0:
            return False
        if not _valid_optional_port(host[closed + 1:]):
            return False
        inner = host[opened + 1:closed]
        zone_at = inner.find("%25")
        if zone_at >= 0:
            head, zone = _unescape(inner[:zone_at], "host"), _unescape(inner[zone_at:], "zone")
            if head is None or zone is None:
                return False
            unescaped = head + zone
        else:
            plain = _unescape(inner, "host")
            if plain is None:
                return False
            unescaped = plain
        parsed = _netip_parse(unescaped)
        return parsed is not None and parsed[0] == "6"  # an IPv4 literal is "invalid IP-literal"
    if ":" in host and not _valid_optional_port(host[host.rfind(":"):]):
        return False
    return _unescape(host, "host") is not None


_USERINFO_OK = set("-._:~!$&'()*+,;=%@")


def _is_uri(s: str) -> bool:
    if s == "" or any(c < " " or c == "\x7f" for c in s):
        return False
    if s == "*":
        return True
    scheme, rest = "", s
    for i, c in enumerate(s):
        if c.isascii() and c.isalpha():
            continue
        if _digit(c) or c in "+-.":
            if i == 0:
                break
            continue
        if c == ":":
            if i == 0:
                return False  # missing protocol scheme
            scheme, rest = s[:i], s[i + 1:]
        break
    if rest.endswith("?") and rest.count("?") == 1:
        rest = rest[:-1]
    else:
        rest = rest.split("?", 1)[0]
    if not rest.startswith("/"):
        return scheme != ""  # opaque when there is a scheme, else "invalid URI for request"
    if scheme and rest.startswith("//"):
        authority, rest = rest[2:], ""
        if "/" in authority:
            slash = authority.index("/")
            authority, rest = authority[:slash], authority[slash:]
        at = authority.rfind("@")
        if not _valid_host(authority[at + 1:] if at >= 0 else authority):
            return False
        if at >= 0:
            userinfo = authority[:at]
            if not all((c.isascii() and c.isalnum()) or c in _USERINFO_OK for c in userinfo):
                return False
            if any(_unescape(part, "user") is None for part in userinfo.split(":", 1)):
                return False
    return _unescape(rest, "path") is not None


# --- email: net/mail.ParseAddress -------------------------------------------------------------


def _vchar(c: str) -> bool:
    return "!" <= c <= "~" or c >= "\x80"


# isAtext(r, dot=true): a visible character (or any non-ASCII one) other than the specials
_ATOM = re.compile(r'[^\x00-\x20\x7f()<>\[\]:;@\\,"]*')


class _MailError(Exception):
    pass


class _AddrParser:
    """A port of net/mail's addrParser, reduced to what decides success or failure. Go slices
    its string as it goes; this keeps a position in it instead (a Python slice is a copy)."""

    def __init__(self, s: str):
        self.t, self.i = s, 0

    def peek(self) -> str:
        return self.t[self.i:self.i + 1]

    def skip_space(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def consume(self, c: str) -> bool:
        if self.peek() == c:
            self.i += 1
            return True
        return False

    def skip_cfws(self) -> bool:
        self.skip_space()
        while self.consume("("):
            if self.consume_comment() is None:
                return False
            self.skip_space()
        return True

    def consume_comment(self) -> str | None:
        t, depth, comment = self.t, 1, []
        while self.i < len(t) and depth:
            if t[self.i] == "\\" and self.i + 1 < len(t):
                self.i += 1
            elif t[self.i] == "(":
                depth += 1
            elif t[self.i] == ")":
                depth -= 1
            if depth:
                comment.append(t[self.i])
            self.i += 1
        return "".join(comment) if depth == 0 else None

    def single_address(self) -> None:
        count = self.address(True)
        if not self.skip_cfws() or self.i < len(self.t) or count != 1:
            raise _MailError

    def address(self, handle_group: bool) -> int:
        """parseAddress: how many addresses it read (a group may hold several, or none)."""
        self.skip_space()
        if not self.peek():
            raise _MailError
        try:
            self.addr_spec()
        except _MailError:
            pass
        else:
            self.skip_space()
            if self.peek() == "(":
                self.display_name_comment()
            return 1
        if self.peek() != "<":
            self.phrase()
        self.skip_space()
        if handle_group and self.consume(":"):
            return self.group_list()
        if not self.consume("<"):
            raise _MailError
        self.addr_spec()
        if not self.consume(">"):
            raise _MailError
        return 1

    def group_list(self) -> int:
        self.skip_space()
        if self.consume(";"):
            if not self.skip_cfws():
                raise _MailError
            return 0
        count = 0
        while True:
            self.skip_space()
            count += self.address(False)
            if not self.skip_cfws():
                raise _MailError
            if self.consume(";"):
                if not self.skip_cfws():
                    raise _MailError
                return count
            if not self.consume(","):
                raise _MailError

    def addr_spec(self) -> None:
        orig = self.i
        try:
            self.skip_space()
            if not self.peek():
                raise _MailError
            if self.peek() == '"':
                if self.quoted_string() == "":
                    raise _MailError
            else:
                self.atom(False)
            if not self.consume("@"):
                raise _MailError
            self.skip_space()
            if not self.peek():
                raise _MailError
            if self.peek() == "[":
                self.domain_literal()
            else:
                self.atom(False)
        except _MailError:
            self.i = orig
            raise

    def phrase(self) -> None:
        words, failed = 0, False
        while True:
            if words and not self.skip_cfws():
                raise _MailError
            self.skip_space()
            if not self.peek():
                break
            try:
                if self.peek() == '"':
                    self.quoted_string()
                else:
                    word = self.atom(True)
                    if _charset_error(word):
                        raise _MailError
            except _MailError:
                failed = True
                break
            words += 1
        if failed and not words:
            raise _MailError

    def quoted_string(self) -> str:
        t, i, out, escaped = self.t, self.i + 1, [], False
        while True:
            if i >= len(t):
                raise _MailError  # unclosed quoted-string
            c = t[i]
            if escaped:
                if not (_vchar(c) or c in " \t"):
                    raise _MailError
                out.append(c)
                escaped = False
            elif (_vchar(c) and c not in '\\"') or c in " \t":
                out.append(c)
            elif c == '"':
                break
            elif c == "\\":
                escaped = True
            else:
                raise _MailError
            i += 1
        self.i = i + 1
        return "".join(out)

    def atom(self, permissive: bool) -> str:
        """consumeAtom(dot=true, permissive): a run of atext and dots."""
        start = self.i
        run = _ATOM.match(self.t, start)
        self.i = run.end() if run else start
        if self.i == start:
            raise _MailError
        atom = self.t[start:self.i]
        if not permissive and (atom.startswith(".") or ".." in atom or atom.endswith(".")):
            raise _MailError
        return atom

    def domain_literal(self) -> None:
        t = self.t
        start = self.i = self.i + 1  # past "["
        while True:
            if self.i >= len(t):
                raise _MailError
            c = t[self.i]
            if c == "]":
                break
            if c in "[\\" or not _vchar(c):
                raise _MailError
            self.i += 1
        text = t[start:self.i]
        self.i += 1
        if not _go_parse_ip(text):
            raise _MailError

    def display_name_comment(self) -> None:
        self.consume("(")
        comment = self.consume_comment()
        if comment is None:
            raise _MailError
        for word in re.split("[ \t]+", comment):
            if word and _charset_error(word):
                raise _MailError


_B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _charset_error(word: str) -> bool:
    """Whether mime.WordDecoder.Decode fails on `word` only for want of a charset reader (the one
    decoding failure net/mail reports; a word that is not an encoded-word is taken as it is)."""
    if _blen(word) < 8 or not word.startswith("=?") or not word.endswith("?=") or word.count("?") != 4:
        return False
    charset, encoding, text = word[2:-2].split("?", 2)
    if not charset or len(encoding) != 1:
        return False
    if encoding in "Bb":  # base64.StdEncoding, which skips newlines
        if _B64.fullmatch(text.replace("\r", "").replace("\n", "")) is None:
            return False
    elif encoding in "Qq":
        i = 0
        while i < len(text):
            c = text[i]
            if c == "=":
                if i + 2 >= len(text) or _hexval(text[i + 1]) < 0 or _hexval(text[i + 2]) < 0:
                    return False
                i += 2
            elif not (" " <= c <= "~" or c in "\n\r\t"):
                return False
            i += 1
    else:
        return False
    # strings.EqualFold with the three charsets the decoder knows ("ſ" folds to "s", as in Go)
    return charset.casefold() not in ("utf-8", "iso-8859-1", "us-ascii")


def _is_email(s: str) -> bool:
    try:
        _AddrParser(s).single_address()
    except _MailError:
        return False
    return True


# --- date, date-time, duration ----------------------------------------------------------------

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|[+-][0-9]{2}:[0-9]{2})")


def _is_date(s: str) -> bool:
    """time.Parse("2006-01-02", s): four-digit year, month 01-12, a day the month has."""
    m = _DATE.fullmatch(s)
    if m is None:
        return False
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= _DAYS[month - 1] + (1 if month == 2 and leap else 0)


def _go_lower(s: str) -> str:
    """strings.ToLower: one rune for one (Python's lower() makes "İ" two)."""
    return "".join("i" if c == "\u0130" else c.lower() for c in s)


def _is_datetime(s: str) -> bool:
    """strfmt IsDateTime: date "t" time, only the part after the first "t" looked at."""
    if _blen(s) < 4:
        return False
    parts = _go_lower(s).split("t")
    if len(parts) < 2 or not _is_date(parts[0]):
        return False
    m = _TIME.fullmatch(parts[1])
    return m is not None and m[1] <= "23" and m[2] <= "59" and m[3] <= "59"


_UNITS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "\u03bcs": 1000, "ms": 1000000,
          "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_MAX = 1 << 63


def _go_parse_duration(s: str) -> bool:
    """time.ParseDuration, with its uint64 arithmetic (a position kept instead of slicing)."""
    n, i = len(s), 0
    neg = s[:1] == "-"
    if s[:1] in ("-", "+"):
        i = 1
    if s[i:] == "0":
        return True
    if i == n:
        return False
    d = 0
    while i < n:
        if not (s[i] == "." or _digit(s[i])):
            return False
        v, start = 0, i
        while i < n and _digit(s[i]):
            if v > _MAX // 10:
                return False
            v = v * 10 + ord(s[i]) - 48
            if v > _MAX:
                return False
            i += 1
        pre, f, scale, post = i > start, 0, 1.0, False
        if i < n and s[i] == ".":
            i += 1
            start, overflow = i, False
            while i < n and _digit(s[i]):
                if not overflow:
                    y = f * 10 + ord(s[i]) - 48
                    if f > (_MAX - 1) // 10 or y > _MAX:
                        overflow = True
                    else:
                        f, scale = y, scale * 10
                i += 1
            post = i > start
        if not pre and not post:
            return False
        start = i
        while i < n and not (s[i] == "." or _digit(s[i])):
            i += 1
        unit = _UNITS.get(s[start:i]) if i > start else None  # missing or unknown unit
        if unit is None or v > _MAX // unit:
            return False
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))
            if v > _MAX:
                return False
        d = (d + v) % (1 << 64)  # Go's uint64 wraps
        if d > _MAX:
            return False
    return neg or d <= _MAX - 1


_SPACE = "\t\n\f\r "  # Go's \s
_UNIT_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\u00b5")
_UNIT_NAMES = (("ns", "nano"), ("us", "\u00b5s", "micro"), ("ms", "milli"), ("s", "sec"),
               ("m", "min"), ("h", "hr", "hour"), ("d", "day"), ("w", "wk", "week"))


def _duration_parts(s: str) -> Iterator[tuple[str, str]]:
    """The matches of strfmt's durationMatcher `((\\d+)\\s*([A-Za-zµ]+))`, as Go's FindAll finds
    them, as (digits, unit): scanned by hand, since a backtracking regex takes quadratic time
    over a long run of digits that no unit follows."""
    n, i = len(s), 0
    while i < n:
        if not _digit(s[i]):
            i += 1
            continue
        start = i
        while i < n and _digit(s[i]):
            i += 1
        digits, j = s[start:i], i
        while j < n and s[j] in _SPACE:
            j += 1
        k = j
        while k < n and s[k] in _UNIT_LETTERS:
            k += 1
        if k > j:
            yield digits, s[j:k]
            i = k


def _is_duration(s: str) -> bool:
    """strfmt ParseDuration: Go's time.ParseDuration, else Scala-like "<n> <unit>" parts."""
    if _go_parse_duration(s):
        return True
    ok = False
    for digits, unit in _duration_parts(s):
        if len(digits.lstrip("0")) > 19 or int(digits) >= _MAX:  # strconv.Atoi overflows
            return False
        unit = unit.lower()
        for names in _UNIT_NAMES:
            if unit in names or unit.startswith(names[-1]):
                ok = True
    return ok


_CHECKS = {
    "bsonobjectid": lambda s: _BSON.fullmatch(s) is not None,
    "uri": _is_uri,
    "email": _is_email,
    "hostname": _is_hostname,
    "ipv4": _is_ipv4,
    "ipv6": _is_ipv6,
    "cidr": _is_cidr,
    "mac": _is_mac,
    "uuid": lambda s: _UUID.fullmatch(s) is not None,
    "uuid3": lambda s: _UUID3.fullmatch(s) is not None,
    "uuid4": lambda s: _UUID4.fullmatch(s) is not None,
    "uuid5": lambda s: _UUID5.fullmatch(s) is not None,
    "isbn": lambda s: _is_isbn10(s) or _is_isbn13(s),
    "isbn10": _is_isbn10,
    "isbn13": _is_isbn13,
    "creditcard": _is_creditcard,
    "ssn": _is_ssn,
    "hexcolor": _is_hexcolor,
    "rgbcolor": _is_rgbcolor,
    "byte": _is_byte,
    "password": lambda s: True,
    "date": _is_date,
    "duration": _is_duration,
    "datetime": _is_datetime,
    "k8sshortname": _is_short_name,
    "k8slongname": _is_long_name,
}
