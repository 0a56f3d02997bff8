"""The engine: state and timing, free of grpc, aiohttp and protobuf."""
