"""A kopf operator: each Widget (example.com/v1) gets a ConfigMap `<name>-widget` holding its spec,
owned by the Widget, kept in step with it; the handler's outcome lands in the Widget's status."""

import kopf
import kubernetes


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_):
    settings.peering.standalone = True  # one replica: no KopfPeering objects
    kubernetes.config.load_incluster_config()


@kopf.on.resume("example.com", "v1", "widgets")
@kopf.on.create("example.com", "v1", "widgets")
@kopf.on.update("example.com", "v1", "widgets")
def reconcile(body, spec, name, namespace, logger, **_):
    data = {"size": str(spec.get("size", "")), "replicas": str(spec.get("replicas", ""))}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-widget"}, "data": data}
    kopf.adopt(config_map, owner=body)
    api = kubernetes.client.CoreV1Api()
    try:
        api.create_namespaced_config_map(namespace, config_map)
    except kubernetes.client.ApiException as exc:
        if exc.status != 409:
            raise
        api.patch_namespaced_config_map(f"{name}-widget", namespace, {"data": data})
    logger.info(f"ConfigMap {name}-widget holds {data}")
    kopf.info(body, reason="Reconciled", message=f"ConfigMap {name}-widget holds {data}")
    return {"configMap": f"{name}-widget"}
