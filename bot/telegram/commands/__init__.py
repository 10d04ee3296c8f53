"""The bot's commands: one table (``table.py``), dispatched by ``dispatch.Commands``, with the
command bodies grouped by what they do (``onboarding``, ``queries``, ``charts``,
``chat_settings``, ``watching``)."""
