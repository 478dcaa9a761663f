"""The HTTP adapter: request parsing, responses and routing for the functions-framework handler."""
