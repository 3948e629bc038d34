"""The HTTP layer: console pages, REST API, live events. Built by :func:`create_app`."""
