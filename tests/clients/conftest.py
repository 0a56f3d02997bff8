"""The per-language projects below are run by test_clients.py as their own tools, never collected here."""

collect_ignore = ["go", "java", "node", "python"]
