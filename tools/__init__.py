"""Developer tools that are not part of the product (training, evaluation)."""
