"""Segments (分群): saved rule trees compiled to one warehouse query."""
