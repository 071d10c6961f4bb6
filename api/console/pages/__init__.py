"""The console's pages, one module per audience: auth, board (duty), family, inspector, admin."""
