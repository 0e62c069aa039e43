"""The overlay server: the page's static files and call summary over HTTP, the
websocket protocol, per-page queues, connection limits and what a page is shown."""
