"""Local development tooling (emulators, harnesses). Not shipped with the Lambda."""
