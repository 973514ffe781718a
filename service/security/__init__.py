"""Access control: API keys (`api_keys`), the auth policy and middleware (`auth`), widget tokens."""
