"""alliance-registry: declarative service-alliance contracts, checked and queryable."""

__version__ = "0.1.0"
