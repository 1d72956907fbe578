"""The Segment-compatible tracking API's domain: rules, the durable journal, the loader, live
stats. ``service.Tracker`` is the facade the API, the console and the server's lifespan use."""
