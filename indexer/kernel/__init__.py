"""The shared kernel: settings, the error tree and the data model. Imports nothing else of ours."""
