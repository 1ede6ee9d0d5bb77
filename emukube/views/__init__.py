"""What the CLI shows, as text: pure functions from API objects and Tables to lines."""
