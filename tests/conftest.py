"""Shared test settings: hypothesis runs derandomized (a fixed seed) so CI is repeatable."""
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")
