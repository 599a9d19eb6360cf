"""userbatch: bulk user onboarding for Power Platform and Dynamics 365 environments."""

__version__ = "0.1.0"
