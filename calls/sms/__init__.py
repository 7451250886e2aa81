"""Text messages to customers: the confirmation after a booking, through a pluggable backend."""
