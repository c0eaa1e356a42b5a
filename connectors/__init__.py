"""Connectors: one module per platform, each turning a source into `connectors.base.Record`s."""
