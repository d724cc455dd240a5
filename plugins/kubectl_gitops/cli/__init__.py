"""The click layer: parse flags, call one library function, print, map errors to exit codes."""
