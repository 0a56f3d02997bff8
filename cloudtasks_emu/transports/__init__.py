"""The faces of the emulator: gRPC servicers and the HTTP server (REST gateway, admin API)."""
