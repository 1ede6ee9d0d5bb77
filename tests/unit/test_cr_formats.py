"""A CRD schema's `format` (apiserver/cr_formats.py, and through cr_schema.validate): the formats
kube-apiserver 1.35 validates, with the good and bad values of kube-openapi's strfmt tests
(default_test.go, date_test.go, duration_test.go, time_test.go, bson_test.go,
kubernetes-extensions_test.go) and of its vendored govalidator's validator_test.go, and the
errors apiextensions-apiserver words for them."""

from __future__ import annotations

import pytest

from emukube.apiserver import cr_formats, cr_schema

CASES = {
    "uri": (["http://somewhere.com", "http://somewhereelse.com", "http://foo.bar/#com", "https://foobar.com",
             "http://foobar.中文网/", "http://foobar.org:8080/", "ftp://foobar.ru/", "http://user:pass@www.foobar.com/",
             "http://127.0.0.1/", "http://duckduckgo.com/?q=%2F", "http://foobar.com/?foo=bar#baz=qux",
             "xyz://foobar.com", "http://www.foo_bar.com/", "http://foobar.com/t$-_.+!*\\'(),",
             "http://www.-foobar.com/", "mailto:someone@example.com", "irc://irc.server.org/channel",
             "/abs/test/dir", "http://[::1]:80/", "*"],
            ["somewhere.com", "", "foobar.com", "invalid.", ".com", "./rel/test/dir", "http://a b/",
             "http://[1.2.3.4]/", "http://host:port/", "http://%41/", "/a%zz", "http://x\x7f/"]),
    "email": (["somebody@somewhere.com", "blah@gmail.com", "test@d.verylongtoplevel", "email+tag@gmail.com",
               '" "@example.com', '"Abc\\@def"@example.com', '"Fred Bloggs"@example.com', '"Joe\\\\Blow"@example.com',
               '"Abc@def"@example.com', "customer/department=shipping@example.com", "$A12345@example.com",
               "!def!xyz%abc@example.com", "_somename@example.com", "!#$%&'*+-/=?^_`{}|~@example.com",
               "Miles.O'Brian@example.com", "postmaster@☁→❄→☃→☀→☺→☂→☹→✝.ws", "root@localhost", "john@com",
               "api@piston.ninja", "John Doe <jd@example.com>", "a@[1.2.3.4]", "team: a@example.com;"],
              ["somebody@somewhere@com", "", "nobody", "a..b@example.com", "a@[300.1.1.1]", "team: ;",
               "a@b, c@d", "=?x-unknown?q?name?= <a@example.com>"]),
    "hostname": (["somewhere.com", "888.com", "a.com", "a.b.c.d.e.com", "1.2.3.4.com", "99.99.domain.com",
                  "1wwworg.example.com", "xn--bcher-kva.example.com", "xn-80ak6aa92e.co", "xn--ls8h.la",
                  "☁→❄→☃→☀→☺→☂→☹→✝.ws", "www.example.onion", "www.example.ôlà", "ôlà.ôlà.ôlà", "ex$ample",
                  "localhost", "example", "x", "x-y", "a.b.c.d.e.f.g.dot", "ex=ample.com", "<foo>",
                  "www.example-hyphenated.org", "www.詹姆斯.org", "www.élégigôö.org", "www.詹姆斯.london"],
                 ["somewhere.com!", "user@email.domain", "1.1.1.1", "a" * 256, "x.y." + "a" * 64, "www.example-.org",
                  "www.--example.org", "-www.example.org", "www-.example.org", "www.d-.org", "www.-d.org", "www-",
                  "-www", "www.ex ample.org", "_www.example.org", "www.ex;ample.org", "www.example_underscored.org",
                  "www.詹姆斯.x", "a.b.c.d", "-xyz", "xyz-", "x.", "a.b.c.dot-", "a.b.c.é;ö", "é" * 32]),
    "ipv4": (["192.168.254.1", "192.168.254.2", "127.0.0.1", "192.168.1.1", "192.168.1.01", "::ffff:1.2.3.4"],
             ["198.168.254.2.2", "256.1.1.1", "1.2.3", "::1", ""]),
    "ipv6": (["::1", "::2", "2001:db8:0000:1:1:1:1:1", "::ffff:1.2.3.4"],
             ["127.0.0.1", "", "0.0.0.0", "300.0.0.0", "fe80::1%eth0", "00001::", "1::2::3", "::ffff:01.2.3.4"]),
    "cidr": (["192.168.254.1/24", "192.168.254.2/24", "192.0.2.1/24", "192.0.02.1/24", "2001:db8:a0b:12f0::1/32"],
             ["198.168.254.2", "2001:db8:a0b:12f0::1", "1.2.3.4/33", "::/129", "1.2.3.4/"]),
    "mac": (["01:02:03:04:05:06", "06:05:04:03:02:01", "3D:F2:C9:A6:B3:4F", "01-02-03-04-05-06", "0102.0304.0506",
             "01:02:03:04:05:06:07:08"],
            ["01:02:03:04:05", "3D-F2-C9-A6-B3:4F", "123", "", "abacaba"]),
    "uuid": (["b1690c37-3ee8-5346-b699-8c23cac63839", "051fe46f-224a-544a-af5e-c946d53d98b6",
              "B1690C373EE85346B6998C23CAC63839"], ["not-a-uuid", "b1690c37-3ee8-5346-b699-8c23cac6383"]),
    "uuid3": (["fba4f6bb-77ab-3976-8146-0a48a348c416", "d5500955-d3f8-3ae2-a872-0a9b9c16c503"],
              ["not-a-uuid", "b1690c37-3ee8-5346-b699-8c23cac63839"]),
    "uuid4": (["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"],
              ["not-a-uuid", "a0eebc99-9c0b-4ef8-cb6d-6bb9bd380a11"]),
    "uuid5": (["b1690c37-3ee8-5346-b699-8c23cac63839", "051fe46f-224a-544a-af5e-c946d53d98b6"],
              ["not-a-uuid", "fba4f6bb-77ab-3976-8146-0a48a348c416"]),
    "isbn": (["0321751043", "3 401 01319 X", "978-4-87311-368-5"], ["836217463", "", "foo"]),
    "isbn10": (["0321751043", "3836221195", "1-61729-085-8", "3 423 21412 0", "3 401 01319 X"],
               ["836217463", "", "foo", "3423214121", "978-3836221191", "3-423-21412-1", "3 423 21412 1"]),
    "isbn13": (["978-0321751041", "9784873113685", "978-4-87311-368-5", "978 3401013190", "978-3-8362-2119-1"],
               ["978-0321751042", "", "foo", "3-8362-2119-5", "01234567890ab", "978 3 8362 2119 0"]),
    "creditcard": (["4111-1111-1111-1111", "4012-8888-8888-1881", "4220855426222389", "4220 8554 2622 2389",
                    "5139288802098206", "374953669708156", "6011464355444102", "3548209662790989"],
                   ["9999-9999-9999-999", "", "credit card", "4220855426213389", "30190239451016",
                    "6521674451993089", "2204151414444676", "624356436327468104"]),
    "ssn": (["111-11-1111", "999 99 9999", "191 60 2869", "191-60-2869"],
            ["999 99 999", "", "00-90-8787", "66690-76"]),
    "hexcolor": (["#FFFFFF", "#000000", "CCccCC", "fff", "#f00"], ["#fffffffz", "", "#ff", "fff0", "#ff12FG"]),
    "rgbcolor": (["rgb(255,255,255)", "rgb(0,0,0)", "rgb(0,31,255)", "rgb(0,  31, 255)"],
                 ["rgb(300,0,0)", "", "rgb(1,349,275)", "rgb(01,31,255)", "rgb(0.6,31,255)", "rgba(0,31,255)"]),
    "byte": (["VGhpcyBpcyBhIGJ5dGUgYXJyYXkgd2l0aCB1bnByaW50YWJsZSBjaGFycywgYnV0IGl0IGFsc28gaXNu",
              "ZWxpemFiZXRocG9zZXk=", "Vml2YW11cyBmZXJtZW50dW0gc2VtcGVyIHBvcnRhLg==", "U3VzcGVuZGlzc2UgbGVjdHVzIGxlbw=="],
             ["ZWxpemFiZXRocG9zZXk", "12345", "", "Vml2YW11cyBmZXJtZW50dW0gc2VtcGVyIHBvcnRhLg"]),
    "password": (["super secret stuff here", "super secret!!!", "even more secret", ""], []),
    "date": (["2014-12-15", "2017-12-22", "2000-02-29", "2400-02-29"],
             ["yada", "1972/01/01", "2017-1-1", "17-13-22", "2017-02-29", "1900-02-29", "2100-02-29", "2017-13-22",
              "2017-12-32", "20171-12-32", "YYYY-MM-DD", "20-17-2017", "2017-12-22T01:02:03Z"]),
    "date-time": (["2014-12-15T08:00:00.000Z", "2011-08-18T19:03:37.000+01:00", "2014-12-15T19:30:20.000Z",
                   "0001-01-01T00:00:00.000Z", "2011-08-18T19:03:37.000000000+01:00", "2014-12-15t19:30:20z"],
                  ["zor", "zorg", "zorgTx", "1972-12-31Tx", "1972-12-31T24:40:00.000Z", "1972-12-31T23:63:00.000Z",
                   "1972-12-31T23:59:60.000Z", "2014-12-15T08:00:00", "2014-12-15 19:30:20Z"]),
    "duration": (["0ms", "2ms", "1ns", "1us", "1µs", "1ms", "1s", "1m", "1h", "1hr", "1d", "1w", "1wk",
                  "1nanoseconds", "1nanos", "1microseconds", "1micros", "1millis", "1milliseconds", "1second",
                  "1sec", "1min", "1minute", "1hour", "1day", "1week", "1  ns", "1  µs", "1  hr", "1  wk",
                  "1  milliseconds", "1  week", "45 weeks", "45 weekz", "12 hours", "12 minutes", "-1.5h", "1h2m3s"],
                 ["yada", "three week", "9999999999999999999999999999999999999999999999999999999 weeks",
                  "12 parsecs", "12 y", "45 wekk", "45 weeekks", "12 phours", "", "1.5", "9223372036854775808ns"]),
    "bsonobjectid": (["507f1f77bcf86cd799439011", "507F1F77BCF86CD799439011"],
                     ["507f1f77bcf86cd79943901", "507f1f77bcf86cd7994390111", "507f1f77bcf86cd79943901g"]),
    "k8s-short-name": (["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
                        "a" * 63],
                       ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "-a", "-1", "_", "a_", "_a", "a_b", "1_",
                        "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2", " ", "a ", " a", "a b", "1 ",
                        " 1", "1 2", "a" * 64, "a-", "1-"]),
    "k8s-long-name": (["a", "ab", "a--1--2--b", "0", "1--a--b--2", "a.a", "a--1--2--b.a", "a.1", "0.a", "012.a",
                       "0.1", "1--a--b--2.1", "a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55",
                       "a" * 253],
                      ["", "A", "aBc", "1-A", "-", "-a", "-1", "_", "a_b", ".", "a.", ".a", "a..b", "1.", ".1",
                       "1..2", " ", "a b", "A.a", "aB.a", "ab.A", "A.1", "1A.1", "0.A", "A.B.C.D.E",
                       "a.B.c.d.e", "a@b", "a,b", "a;b", "a:b", "a%b", "a?b", "a$b", "a" * 254, "a-", "1-"]),
}


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_each_format_takes_its_good_values_and_refuses_its_bad_ones(fmt):
    good, bad = CASES[fmt]
    assert [v for v in good if cr_formats.check(v, fmt) is not True] == []
    assert [v for v in bad if cr_formats.check(v, fmt) is not False] == []


def test_every_format_kube_apiserver_keeps_is_covered():
    assert {name.replace("-", "") for name in CASES} == cr_formats.SUPPORTED


def test_names_are_normalized_by_dropping_dashes_and_the_rest_are_ignored():
    assert cr_formats.check("2014-12-15T19:30:20Z", "date-time") is True
    assert cr_formats.check("2014-12-15T19:30:20Z", "datetime") is True
    assert cr_formats.check("A", "k8sshortname") is False
    for ignored in ("int32", "int64", "float", "double", "Date", "quantity", "", "ip"):
        assert cr_formats.check("not anything", ignored) is None
        assert not cr_formats.is_validated(ignored)


def _spec(when: dict) -> dict:
    return {"type": "object", "properties": {"spec": {"type": "object", "properties": {"when": when}}}}


def test_a_bad_value_is_an_invalid_type_naming_the_format_as_the_schema_spells_it():
    errors = cr_schema.validate({"spec": {"when": "bad"}}, _spec({"type": "string", "format": "date-time"}))
    assert errors == ['spec.when: Invalid value: "bad": spec.when in body must be of type date-time: "bad"']
    errors = cr_schema.validate({"spec": {"when": "bad"}}, _spec({"type": "string", "format": "datetime"}))
    assert errors == ['spec.when: Invalid value: "bad": spec.when in body must be of type datetime: "bad"']
    assert cr_schema.validate({"spec": {"when": "2014-12-15T19:30:20Z"}},
                              _spec({"type": "string", "format": "date-time"})) == []


def test_the_value_is_go_quoted_and_list_items_have_their_index():
    errors = cr_schema.validate({"spec": {"when": 'é\n"x'}}, _spec({"type": "string", "format": "hostname"}))
    assert errors == ['spec.when: Invalid value: "é\\n\\"x": spec.when in body must be of type hostname: "é\\n\\"x"']
    errors = cr_schema.validate({"spec": {"when": ["1.2.3.4", "x"]}},
                                _spec({"type": "array", "items": {"type": "string", "format": "ipv4"}}))
    assert errors == ['spec.when[1]: Invalid value: "x": spec.when[1] in body must be of type ipv4: "x"']


def test_the_format_comes_after_the_string_checks():
    schema = _spec({"type": "string", "format": "date", "pattern": "^a"})
    assert cr_schema.validate({"spec": {"when": "bb"}}, schema) == [
        "spec.when: Invalid value: \"bb\": spec.when in body should match '^a'",
        'spec.when: Invalid value: "bb": spec.when in body must be of type date: "bb"']


def test_an_ignored_format_changes_nothing():
    assert cr_schema.validate({"spec": {"when": "x"}}, _spec({"type": "string", "format": "int32"})) == []
    assert cr_schema.validate({"spec": {"when": 1.5}}, _spec({"type": "integer", "format": "int32"})) == [
        'spec.when: Invalid value: "number": spec.when in body must be of type integer: "number"']


def test_numbers_are_not_format_checked_but_a_wrong_type_names_the_format_and_the_go_type():
    # kube-openapi's typeValidator: a string format on integer/number leaves numbers alone...
    assert cr_schema.validate({"spec": {"when": 2}}, _spec({"type": "integer", "format": "date"})) == []
    assert cr_schema.validate({"spec": {"when": 2}}, _spec({"type": "number", "format": "date"})) == []
    # ...and a value of another type is refused naming the format and the decoded Go type
    schema = _spec({"type": "string", "format": "date-time"})
    assert cr_schema.validate({"spec": {"when": 5}}, schema) == [
        'spec.when: Invalid value: "int64": spec.when in body must be of type date-time: "int64"']
    assert cr_schema.validate({"spec": {"when": 1.5}}, schema) == [
        'spec.when: Invalid value: "float64": spec.when in body must be of type date-time: "float64"']
    assert cr_schema.validate({"spec": {"when": True}}, schema) == [
        'spec.when: Invalid value: "": spec.when in body must be of type date-time: ""']
    assert cr_schema.validate({"spec": {"when": {"a": 1}}}, schema) == [
        'spec.when: Invalid value: "": spec.when in body must be of type date-time: ""']
    # a string under integer is a type error and still format-checked
    assert cr_schema.validate({"spec": {"when": "x"}}, _spec({"type": "integer", "format": "date"})) == [
        'spec.when: Invalid value: "string": spec.when in body must be of type integer: "string"',
        'spec.when: Invalid value: "x": spec.when in body must be of type date: "x"']


def test_with_a_format_a_string_or_a_list_passes_a_non_numeric_type():
    assert cr_schema.validate({"spec": {"when": "x"}}, _spec({"type": "boolean", "format": "uuid"})) == [
        'spec.when: Invalid value: "x": spec.when in body must be of type uuid: "x"']
    assert cr_schema.validate({"spec": {"when": ["x"]}}, _spec({"type": "string", "format": "date-time"})) == []
    assert cr_schema.validate({"spec": {"when": "2020-01-01"}}, _spec({"type": "object", "format": "date"})) == []


def test_int_or_string_checks_the_format_of_strings_only():
    schema = _spec({"x-kubernetes-int-or-string": True, "format": "k8s-short-name"})
    assert cr_schema.validate({"spec": {"when": 3}}, schema) == []
    assert cr_schema.validate({"spec": {"when": "Web"}}, schema) == [
        'spec.when: Invalid value: "Web": spec.when in body must be of type k8s-short-name: "Web"']
    assert cr_schema.validate({"spec": {"when": True}}, schema) == [
        'spec.when: Invalid value: "": spec.when in body must be of type k8s-short-name: ""']
