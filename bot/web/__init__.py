"""The web archive (`main.py web`): the bot's database, read-only, in Datasette (`web` extra)."""
