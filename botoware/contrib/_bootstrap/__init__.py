"""The directory ``botoware run`` puts first on the child's ``PYTHONPATH`` (see sitecustomize)."""
