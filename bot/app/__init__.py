"""The application: service, config, access policy, status collection, instance lock, logging."""
