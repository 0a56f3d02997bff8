"""The web dashboard at `/`: queues, tasks, attempts and the clock, read from the service."""

from .routes import add_dashboard_routes

__all__ = ["add_dashboard_routes"]
