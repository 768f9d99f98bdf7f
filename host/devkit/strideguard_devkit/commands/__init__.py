"""The dev kit's commands; each module has ``register(subparsers)`` like the product's."""
