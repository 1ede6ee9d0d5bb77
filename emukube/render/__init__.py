"""Pure functions from plan types (emukube.plan.types) to configuration text.

Templates are in compose-templates/ (see :func:`template_dir`). Every renderer is deterministic:
the same plan gives the same text, byte for byte, so the runtime can skip unchanged configs.
"""

from emukube.render._template import template_dir
from emukube.render.coredns import render_corefile, render_zones
from emukube.render.haproxy import HAPROXY_LOCAL_PEER, render_haproxy, render_haproxy_many
from emukube.render.nginx import render_nginx

__all__ = [
    "HAPROXY_LOCAL_PEER",
    "render_corefile",
    "render_haproxy",
    "render_haproxy_many",
    "render_nginx",
    "render_zones",
    "template_dir",
]
