"""Storage: the driver contract, its records and errors, and the drivers."""
