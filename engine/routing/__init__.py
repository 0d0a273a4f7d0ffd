"""Route table and the Router that combines it with a policy."""

from engine.routing.router import Router
from engine.routing.table import RouteEntry, RouteTable, load_route_table, parse_route_table

__all__ = ["RouteEntry", "RouteTable", "Router", "load_route_table", "parse_route_table"]
