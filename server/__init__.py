"""The trackstore server: gRPC service, storage engine on DuckLake, configuration."""
