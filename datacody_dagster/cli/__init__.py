"""The `datacody` command line."""
