"""One module per Accounting API resource; each exposes the handlers ``app.HANDLERS`` routes to."""
