"""The back-office staff and the secrets issued to clients: users (agents, supervisors,
admins), API keys, personal tokens, the API's authentication classes and the second factor.
Bottom layer: imports nothing of the project's other apps."""
