"""The whole stack on one machine: the Lambda handlers unchanged, local stand-ins around them."""
