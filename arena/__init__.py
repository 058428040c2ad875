"""The arena: language models and algorithms play games that reward unpredictability."""

__version__ = "0.1.0"
