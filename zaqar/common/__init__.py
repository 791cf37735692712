"""Small helpers shared by every layer (no falcon, no backend imports)."""
