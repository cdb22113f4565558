"""What the installed package says about itself: one version, type information shipped."""
import importlib.metadata
import importlib.resources

import fastdnn


def test_version_is_single_sourced():
    assert fastdnn.__version__ == importlib.metadata.version("fastdnn")


def test_typed_package():
    assert importlib.resources.files("fastdnn").joinpath("py.typed").is_file()
