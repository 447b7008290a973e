"""The scenario fixtures (fakes, dynalite, the runner harness) serve the recorder too."""

from tests.scenarios.conftest import make_harness

__all__ = ["make_harness"]
