"""userops: user operations (用户运营) for e-commerce and social-commerce shops.

Quick start from Python::

    from userops import Settings, connect

    settings = Settings(data_dir="./userops-data")
    with connect(settings) as hub:
        print(hub.stats())

The CLI (``userops --help``), the HTTP API (``userops serve``, then ``/docs``) and the web
console call the same domain functions.
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from userops.config import Settings
    from userops.hub import Hub, connect


def __getattr__(name: str) -> Any:
    # Importing userops stays cheap: the heavy parts load when first used.
    if name == "Settings":
        from userops.config import Settings

        return Settings
    if name in {"Hub", "connect"}:
        from userops import hub

        return getattr(hub, name)
    raise AttributeError(name)


__all__ = ["Hub", "Settings", "__version__", "connect"]
