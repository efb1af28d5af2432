"""Users, roles, scope, passwords and tokens."""
