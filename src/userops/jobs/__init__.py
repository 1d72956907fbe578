"""Work that touches the warehouse, runnable in this process or in the running server."""
