"""Seeing why: `emukube explain`, `doctor`, `dns` and `top`, from the API's objects and live
checks made inside the cluster."""
