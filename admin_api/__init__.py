"""The admin HTTP API (aiohttp), built in issue 6 on the routing core's services."""
