"""Public rental housing (公租房) backend: the code shipped to Lambda beside app.py."""
