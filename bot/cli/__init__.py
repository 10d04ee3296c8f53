"""The command-line commands of main.py."""
