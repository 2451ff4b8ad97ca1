"""Singer tap for the Mobilize API (https://api.mobilize.us/v1)."""

__version__ = "0.1.0"
