"""Where the API server's proxy sends a request, and what it changes in the answer
(apiserver/proxy_target.py, apiserver/proxy_rewrite.py), from literal objects."""

from __future__ import annotations

import random

import pytest

from emukube.apiserver.errors import ApiError
from emukube.apiserver.proxy_rewrite import rewrite_html, rewrite_url
from emukube.apiserver.proxy_target import (
    Location,
    backend_path,
    pod_location,
    service_location,
    split_scheme_name_port,
)

SERVICE = {"metadata": {"name": "web", "namespace": "shop"},
           "spec": {"ports": [{"name": "http", "port": 80}, {"name": "", "port": 81}]}}
PODS = {"web-a": ["10.96.1.1"], "web-b": ["10.96.1.2"]}


def endpoints(*addresses: tuple[str, str], ports=({"name": "http", "port": 8080},)) -> dict:
    return {"subsets": [{"addresses": [{"ip": ip, "targetRef": {"kind": "Pod", "namespace": "shop", "name": pod}}
                                       for ip, pod in addresses], "ports": list(ports)}]}


def locate(id_: str, eps: dict, rng=None) -> Location:
    scheme, name, port = split_scheme_name_port(id_)
    return service_location("shop", name, SERVICE, eps, id_, scheme, port, lambda p: PODS.get(p, []), rng)


@pytest.mark.parametrize("id_,parts", [("web", ("", "web", "")), ("web:80", ("", "web", "80")),
                                       ("https:web:443", ("https", "web", "443")), ("http:web:", ("http", "web", ""))])
def test_ids_split_as_apimachinery_splits_them(id_, parts):
    assert split_scheme_name_port(id_) == parts


@pytest.mark.parametrize("id_", ["ftp:web:21", ":80", "a:b:c:d"])
def test_ids_the_api_server_refuses(id_):
    with pytest.raises(ValueError):
        split_scheme_name_port(id_)


def test_a_port_number_is_the_services_port_of_that_number_then_its_name():
    eps = endpoints(("10.96.1.1", "web-a"))
    assert locate("web:80", eps) == Location("", "10.96.1.1", "8080")
    assert locate("web:http", eps) == Location("", "10.96.1.1", "8080")
    assert locate("https:web:http", eps).url("/a b/", "x=1") == "https://10.96.1.1:8080/a%20b/?x=1"


def test_every_ready_pod_is_chosen_now_and_then():
    eps = endpoints(("10.96.1.1", "web-a"), ("10.96.1.2", "web-b"))
    rng = random.Random(7)
    assert {locate("web:80", eps, rng).host for _ in range(40)} == {"10.96.1.1", "10.96.1.2"}


@pytest.mark.parametrize("id_,eps,message", [
    ("web:99", endpoints(("10.96.1.1", "web-a")), 'no service port 99 found for service "web"'),
    ("web:80", {"subsets": []}, 'no endpoints available for service "web"'),
    # an unnamed request matches only an unnamed endpoint port; the message names the request
    ("web", endpoints(("10.96.1.1", "web-a")), 'no endpoints available for service "web"'),
    ("web:http", endpoints(("10.96.9.9", "web-a")), 'no endpoints available for service "web:http"'),
    ("web:http", {"subsets": [{"addresses": [{"ip": "10.96.1.1"}], "ports": [{"name": "http", "port": 8080}]}]},
     'no endpoints available for service "web:http"'),
])
def test_what_the_api_server_answers_when_no_backend_fits(id_, eps, message):
    with pytest.raises(ApiError) as caught:
        locate(id_, eps)
    assert (caught.value.code, caught.value.reason, caught.value.message) == (503, "ServiceUnavailable", message)


def test_a_pod_is_reached_at_the_port_named_else_its_first_declared_one():
    pod = {"spec": {"containers": [{"name": "a"}, {"name": "b", "ports": [{"containerPort": 9000}]}]},
           "status": {"podIP": "10.96.3.3"}}
    assert pod_location(pod, "", "") == Location("", "10.96.3.3", "9000")
    assert pod_location(pod, "", "8080").url("/", "") == "http://10.96.3.3:8080/"
    for ip in ("", "127.0.0.1", "169.254.169.254", "::1"):  # none, the API server's loopback, link-local
        with pytest.raises(ApiError) as caught:
            pod_location({"spec": {}, "status": {"podIP": ip}}, "", "")
        assert (caught.value.code, caught.value.message) == (400, "address not allowed")


@pytest.mark.parametrize("after,path", [("", ""), ("/", "/"), ("/a/b", "/a/b"), ("/a/b/", "/a/b/"),
                                        ("/a//b/../c", "/a/c"), ("//x", "/x")])
def test_the_path_after_proxy_as_go_joins_it(after, path):
    assert backend_path(after) == path


PREFIX = "/api/v1/namespaces/shop/services/web:80/proxy"


@pytest.mark.parametrize("target,rewritten", [
    ("/login", PREFIX + "/login"),
    ("/docs/", PREFIX + "/docs/"),
    ("http://10.96.1.1:8080/x?y=1#z", PREFIX + "/x?y=1#z"),
    (PREFIX + "/already", PREFIX + "/already"),
    ("relative/page", "relative/page"),
    ("https://example.com/out", "https://example.com/out"),
])
def test_links_to_the_backend_go_through_the_proxy_again(target, rewritten):
    assert rewrite_url(target, "10.96.1.1:8080", "127.0.0.1:6443", PREFIX) == rewritten


def test_an_html_page_has_only_its_url_attributes_rewritten():
    page = ('<!doctype html><html><head><link rel="stylesheet" href="/style.css"></head>\n'
            "<body><a href='/docs/'>docs</a> <a href=notes.html>notes</a><!-- <a href=\"/c\"> -->\n"
            '<script>var a = \'<a href="/kept">\';</script><IMG SRC="/logo.png" alt="a &amp; b"></body></html>')
    out = rewrite_html(page, lambda u: rewrite_url(u, "10.96.1.1:8080", "h:1", PREFIX))
    assert out == ('<!doctype html><html><head><link rel="stylesheet" href="' + PREFIX + '/style.css"></head>\n'
                   '<body><a href="' + PREFIX + '/docs/">docs</a> <a href="notes.html">notes</a>'
                   '<!-- <a href="/c"> -->\n'
                   '<script>var a = \'<a href="/kept">\';</script><img src="' + PREFIX + '/logo.png" '
                   'alt="a &amp; b"></body></html>')
