"""The HTTP layer: app factory, dependencies, routes, middleware, error bodies, SSE framing."""
