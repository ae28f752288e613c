"""globalfit: machine-learning-assisted global fits when each likelihood evaluation is expensive."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("globalfit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"
