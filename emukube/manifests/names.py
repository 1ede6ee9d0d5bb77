"""Name and format checks of apimachinery's `util/validation`, with its messages.

Each `is_*` returns the list of problems (empty = valid), like the Go functions.
"""

from __future__ import annotations

import ipaddress
import re

from .fielderrors import FieldErrors

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
_ENV_VAR_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_PERCENT_FMT = "[0-9]+%"


def _full(fmt: str) -> re.Pattern:
    # \Z, not $: "$" would accept a trailing newline
    return re.compile("(?:" + fmt + r")\Z", re.ASCII)


_DNS1123_LABEL = _full(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN = _full(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL = _full(_DNS1035_LABEL_FMT)
_QUALIFIED_NAME = _full(_QUALIFIED_NAME_FMT)
_LABEL_VALUE = _full(_LABEL_VALUE_FMT)
_ENV_VAR = _full(_ENV_VAR_FMT)
_CONFIG_KEY = _full(_CONFIG_KEY_FMT)
_PERCENT = _full(_PERCENT_FMT)
_PORT_NAME_CHARS = _full("[-a-z0-9]+")


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


def _nbytes(s: str) -> int:
    # Go measures strings in bytes
    return len(s.encode("utf-8", "surrogatepass"))


def is_dns1123_label(v: str) -> list[str]:
    errs = []
    if _nbytes(v) > 63:
        errs.append(max_len_error(63))
    if not _DNS1123_LABEL.match(v):
        if _DNS1123_SUBDOMAIN.match(v):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                "and must start and end with an alphanumeric character",
                _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(v: str) -> list[str]:
    errs = []
    if _nbytes(v) > 253:
        errs.append(max_len_error(253))
    if not _DNS1123_SUBDOMAIN.match(v):
        errs.append(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character",
            _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


_WILDCARD_FMT = r"\*\." + _DNS1123_SUBDOMAIN_FMT
_WILDCARD = _full(_WILDCARD_FMT)
_WILDCARD_MSG = ("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must "
                 "consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character")


def is_wildcard_dns1123_subdomain(v: str) -> list[str]:
    """apimachinery IsWildcardDNS1123Subdomain: `*.` then a DNS subdomain (one leading label only)."""
    errs = []
    if _nbytes(v) > 253:
        errs.append(max_len_error(253))
    if not _WILDCARD.match(v):
        errs.append(regex_error(_WILDCARD_MSG, _WILDCARD_FMT, "*.example.com"))
    return errs


def is_dns1035_label(v: str) -> list[str]:
    errs = []
    if _nbytes(v) > 63:
        errs.append(max_len_error(63))
    if not _DNS1035_LABEL.match(v):
        errs.append(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
            "start with an alphabetic character, and end with an alphanumeric character",
            _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


_QUALIFIED_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', "
                  "and must start and end with an alphanumeric character")


def is_qualified_name(v: str) -> list[str]:
    """Label keys: an optional DNS subdomain prefix and '/', then a name of <= 63 characters."""
    errs = []
    parts = v.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return ["a qualified name " + regex_error(_QUALIFIED_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif _nbytes(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _QUALIFIED_NAME.match(name):
        errs.append("name part " + regex_error(_QUALIFIED_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_label_value(v: str) -> list[str]:
    errs = []
    if _nbytes(v) > 63:
        errs.append(max_len_error(63))
    if not _LABEL_VALUE.match(v):
        errs.append(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character",
            _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_valid_path_segment_name(name: str) -> list[str]:
    """IsValidPathSegmentName: the name must be usable as one segment of a REST path."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def is_valid_port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else [inclusive_range_error(1, 65535)]


def is_valid_port_name(port: str) -> list[str]:
    """IANA_SVC_NAME: <= 15 of [-a-z0-9], at least one letter, no '--', no '-' at either end."""
    errs = []
    if len(port) > 15:
        errs.append(max_len_error(15))
    if not _PORT_NAME_CHARS.match(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _chdir_prefix(v: str) -> list[str]:
    if v == ".":
        return ["must not be '.'"]
    if v == "..":
        return ["must not be '..'"]
    if v.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_env_var_name(v: str) -> list[str]:
    errs = []
    if not _ENV_VAR.match(v):
        errs.append(regex_error(
            "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
            "or '.', and must not start with a digit",
            _ENV_VAR_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1"))
    return errs + _chdir_prefix(v)


def is_config_map_key(v: str) -> list[str]:
    errs = []
    if _nbytes(v) > 253:
        errs.append(max_len_error(253))
    if not _CONFIG_KEY.match(v):
        errs.append(regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    return errs + _chdir_prefix(v)


def is_valid_percent(v: str) -> list[str]:
    if _PERCENT.match(v):
        return []
    return [regex_error("a valid percent string must be a numeric string followed by an ending '%'",
                        _PERCENT_FMT, "1%", "93%")]


def is_valid_ip(v: str) -> list[str]:
    try:
        ipaddress.ip_address(v)
        return []
    except ValueError:
        return ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]


def validate_labels(errs: FieldErrors, labels: dict[str, str], path: str) -> None:
    """apimachinery ValidateLabels: keys are qualified names, values label values."""
    for k, v in labels.items():
        errs.invalid_each(path, k, is_qualified_name(k))
        errs.invalid_each(path, v, is_label_value(v))
