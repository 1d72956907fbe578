"""Pieces that import nothing from userops: errors, money, time."""
