"""The control loop, run inside the cluster's controller container beside its API server:
observe (informers over the API, the engine's containers), decide (pure functions in plan/),
act (runtime/), and publish what runs back to the API (Pods, Endpoints, Nodes, Events)."""
