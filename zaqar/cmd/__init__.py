"""Console entry points: ``zaqar-server``."""
