"""A local Hugging Face Hub for tests: the real ``huggingface_hub`` and ``datasets`` clients talk to it over loopback.

See :class:`~tests.hub_server.server.HubServer` and the pytest fixtures in
:mod:`tests.hub_server.fixtures`.
"""

from .server import HubServer

__all__ = ["HubServer"]
