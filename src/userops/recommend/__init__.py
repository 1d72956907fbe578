"""\"Guess you like\": item recommendations per customer."""
