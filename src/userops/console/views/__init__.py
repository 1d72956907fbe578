"""Console pages, one module per domain; each view parses, calls a facade and renders."""
