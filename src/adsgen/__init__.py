"""adsgen: synthetic CTV advertising data."""
__version__ = "0.1.0"
