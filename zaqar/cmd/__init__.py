"""Console entry points: ``zaqar-server`` and ``zaqar-gc``."""
