"""dvcish: version large files and folders beside git with a content-addressed cache."""

__version__ = "0.1.0"
