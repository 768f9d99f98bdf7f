"""Live path: receivers feed streaming analysis, the alert policy and sinks."""
