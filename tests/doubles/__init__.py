"""Test doubles: stand-ins for models and servers, each saying what it is and what it is not."""
