"""Console admins and API keys."""
