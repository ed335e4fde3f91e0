"""gsr-assess: national self-assessment against the Global Strategic Response."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gsr-assess")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
